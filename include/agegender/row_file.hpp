#pragma once
// A streamed results file (or stdout for "" / "-"): rows are appended and flushed chunk by chunk, so a
// run killed half-way keeps every finished row. Write errors (disk full) throw instead of losing rows.
#include <cstdio>
#include <string>

namespace agegender {

class RowFile {
 public:
  /// Throws RuntimeError naming the file when it cannot be created.
  explicit RowFile(const std::string& path);
  ~RowFile();
  RowFile(const RowFile&) = delete;
  RowFile& operator=(const RowFile&) = delete;

  void write(const std::string& text);
  /// Throws RuntimeError naming the file when anything written so far did not reach it.
  void flush();
  const std::string& path() const { return path_; }

 private:
  std::FILE* f_ = nullptr;
  bool owned_ = false;
  std::string path_;
};

}  // namespace agegender
