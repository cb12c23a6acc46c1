#include "agegender/dataset_source.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>

#include "agegender/error.hpp"

namespace agegender {
namespace fs = std::filesystem;
namespace {

bool hidden(const std::string& base) { return base.empty() || base[0] == '.'; }

void add(SourceListing& out, std::set<std::string>& seen, std::string base, std::string bytes) {
  if (!seen.insert(base).second) {
    out.duplicate_names.push_back(std::move(base));
    return;
  }
  out.files.push_back({std::move(base), std::move(bytes)});
}

// Why a (non-folder) entry cannot be read as a file; "" when it is a regular file or a link to one.
std::string skip_reason(const fs::directory_entry& e, const fs::file_status& link) {
  std::error_code ec;
  const fs::file_status st = fs::status(e.path(), ec);  // follows links
  if (st.type() == fs::file_type::not_found && fs::is_symlink(link)) {
    return "dangling symlink (its target " + fs::read_symlink(e.path(), ec).string() + " does not exist)";
  }
  if (ec == std::errc::too_many_symbolic_link_levels) return "symlink loop (too many levels of symbolic links)";
  if (ec) return "cannot stat: " + ec.message();
  if (fs::is_directory(st)) return "symlink to a folder (not followed)";
  if (!fs::is_regular_file(st)) return "not a regular file";
  return "";
}

void read_folder(const fs::path& dir, SourceListing& out) {
  std::set<std::string> seen;
  for (const FolderEntry& e : walk_folder(dir)) {  // sorted: deterministic choice when a base name repeats
    if (hidden(e.path.filename().string())) continue;
    if (!e.skip.empty() || !e.duplicate_of.empty()) {
      out.skipped.push_back({e.relative, !e.skip.empty() ? e.skip
                                         : std::string(e.symlink ? "symlink" : "hard link") + " to " + e.duplicate_of +
                                               ", which is read: the same file, a duplicate"});
      continue;
    }
    std::ifstream in(e.path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.is_open() || (!in.good() && !in.eof())) {
      out.skipped.push_back({e.relative, "cannot read the file"});
      continue;
    }
    add(out, seen, e.path.filename().string(), std::move(bytes));
  }
}

void read_archive(const std::string& path, SourceListing& out) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_zip(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK) {
    throw UsageError("cannot open archive " + path + ": " + archive_error_string(a.get()));
  }
  std::set<std::string> seen;
  archive_entry* entry = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const std::string base = fs::path(archive_entry_pathname(entry)).filename().string();
    if (hidden(base)) continue;
    std::string bytes(static_cast<size_t>(std::max<la_int64_t>(0, archive_entry_size(entry))), '\0');
    const la_ssize_t n = archive_read_data(a.get(), bytes.data(), bytes.size());
    if (n < 0 || static_cast<size_t>(n) != bytes.size()) {
      throw RuntimeError("archive " + path + " is damaged at " + archive_entry_pathname(entry) + ": " +
                         (n < 0 ? archive_error_string(a.get()) : "short read"));
    }
    add(out, seen, base, std::move(bytes));
  }
  if (rc != ARCHIVE_EOF) {
    throw RuntimeError("archive " + path + " is damaged: " + archive_error_string(a.get()));
  }
}

}  // namespace

std::vector<FolderEntry> walk_folder(const fs::path& dir) {
  std::vector<FolderEntry> out;
  std::vector<std::pair<dev_t, ino_t>> ids;  // per entry; (0, 0) when skipped
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; it != end;
       it.increment(ec)) {
    if (ec) break;
    std::error_code link_ec;  // a failure here shows again, with its reason, in skip_reason
    const fs::file_status link = it->symlink_status(link_ec);
    if (fs::is_directory(link)) continue;  // walked into (links to folders are not: no loops)
    FolderEntry f{it->path(), it->path().lexically_relative(dir).string(), skip_reason(*it, link), "",
                  fs::is_symlink(link)};
    struct stat st {};
    if (f.skip.empty() && ::stat(f.path.c_str(), &st) != 0) f.skip = std::string("cannot stat: ") + std::strerror(errno);
    out.push_back(std::move(f));
    ids.emplace_back(out.back().skip.empty() ? st.st_dev : 0, out.back().skip.empty() ? st.st_ino : 0);
  }
  if (ec) throw RuntimeError("cannot read folder " + dir.string() + ": " + ec.message());
  std::vector<size_t> order(out.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return out[a].path < out[b].path; });
  // One file under several names (hard links, symlinks to it) is read once: under its first real name.
  std::map<std::pair<dev_t, ino_t>, size_t> keeper;
  for (int pass = 0; pass < 2; ++pass) {  // pass 0: names that are not symlinks; pass 1: symlinks
    for (size_t i : order) {
      if (!out[i].skip.empty() || out[i].symlink != (pass == 1)) continue;
      const auto [k, first] = keeper.emplace(ids[i], i);
      if (!first) out[i].duplicate_of = out[k->second].relative;
    }
  }
  std::vector<FolderEntry> sorted;
  for (size_t i : order) sorted.push_back(std::move(out[i]));
  return sorted;
}

SourceListing read_dataset_source(const std::string& path) {
  SourceListing out;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    read_folder(path, out);
  } else if (fs::is_regular_file(path, ec)) {
    read_archive(path, out);
  } else {
    throw UsageError("--data " + path + ": no such folder or archive (expected the UTKFace folder or .tar.gz)");
  }
  std::sort(out.files.begin(), out.files.end(),
            [](const SourceFile& x, const SourceFile& y) { return x.name < y.name; });
  return out;
}

}  // namespace agegender
