#pragma once
// Reads the raw files of a dataset from a folder (recursive) or a .tar/.tar.gz archive (libarchive).
#include <string>
#include <vector>

namespace agegender {

struct SourceFile {
  std::string name;   // base name, e.g. 25_0_1_20170116174525125.jpg.chip.jpg
  std::string bytes;  // whole file contents
};

struct SourceListing {
  std::vector<SourceFile> files;   // sorted by name; hidden files and directories skipped
  std::vector<std::string> duplicate_names;  // a base name seen twice (second copy dropped)
};

/// Throws UsageError when `path` is neither an existing folder nor a readable archive.
SourceListing read_dataset_source(const std::string& path);

}  // namespace agegender
