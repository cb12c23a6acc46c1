#include "agegender/dataset_source.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
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

void read_folder(const fs::path& dir, SourceListing& out) {
  std::set<std::string> seen;
  std::vector<fs::path> paths;
  for (const auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied)) {
    if (e.is_regular_file() && !hidden(e.path().filename().string())) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());  // deterministic choice when a base name repeats
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw RuntimeError("cannot read " + p.string());
    add(out, seen, p.filename().string(), std::move(bytes));
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
