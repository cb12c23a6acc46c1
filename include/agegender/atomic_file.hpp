#pragma once
// Atomic file replacement: write `<path>.tmp.<pid>`, fsync, rename over `path`.
#include <functional>
#include <iosfwd>
#include <string>

namespace agegender {

void write_file_atomic(const std::string& path, const std::string& contents);
/// For files written over a long run: the temp name to stream into, and the fsync + rename that puts it
/// in place (throws RuntimeError naming both on failure; the temp file is removed).
std::string atomic_temp_path(const std::string& path);
void commit_atomic(const std::string& tmp, const std::string& path);
/// Streams into the temp file through `fill`, then renames. Throws RuntimeError naming `path` on failure.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& fill);

}  // namespace agegender
