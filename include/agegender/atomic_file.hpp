#pragma once
// Atomic file replacement: write `<path>.tmp.<pid>`, fsync, rename over `path`.
#include <functional>
#include <iosfwd>
#include <string>

namespace agegender {

void write_file_atomic(const std::string& path, const std::string& contents);
/// Streams into the temp file through `fill`, then renames. Throws RuntimeError naming `path` on failure.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& fill);

}  // namespace agegender
