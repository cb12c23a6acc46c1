#pragma once
// Reads the raw files of a dataset from a folder (recursive) or a .tar/.tar.gz archive (libarchive),
// and walks folders without tripping over symlink loops (also used by predict).
#include <filesystem>
#include <string>
#include <vector>

namespace agegender {

struct SourceFile {
  std::string name;   // base name, e.g. 25_0_1_20170116174525125.jpg.chip.jpg
  std::string bytes;  // whole file contents
};

struct SourceSkip {
  std::string name;    // path below the folder
  std::string reason;  // symlink loop, dangling link, same file as another (hard link), not a regular file
};

struct SourceListing {
  std::vector<SourceFile> files;   // sorted by name; hidden files and directories skipped
  std::vector<std::string> duplicate_names;  // a base name seen twice (second copy dropped)
  std::vector<SourceSkip> skipped;  // folder entries not read, with the reason (symlinks to files are followed)
};

/// One entry of a folder walk that is not a folder.
struct FolderEntry {
  std::filesystem::path path;
  std::string relative;  // path below the walked folder
  std::string skip;      // why it cannot be read; "" = a regular file (itself, or a symlink's target)
  std::string duplicate_of;  // set when this is a second name (hard link, symlink) of that earlier entry
  bool symlink = false;      // the entry itself is a symbolic link
};

/// Every non-folder entry below `dir`, recursively, sorted by path. Symlinks to files are followed;
/// symlinks to folders are not (so no loop can form). Symlink loops, dangling links, links to folders
/// and special files carry a reason in `skip` instead of ending the walk; second names of one file get
/// `duplicate_of` (its first name that is not a symlink). Throws RuntimeError only when the folder
/// itself cannot be read.
std::vector<FolderEntry> walk_folder(const std::filesystem::path& dir);

/// Throws UsageError when `path` is neither an existing folder nor a readable archive.
SourceListing read_dataset_source(const std::string& path);

}  // namespace agegender
