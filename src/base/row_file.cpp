#include "agegender/row_file.hpp"

#include <cerrno>
#include <cstring>

#include "agegender/error.hpp"

namespace agegender {

RowFile::RowFile(const std::string& path) : path_(path.empty() ? "-" : path) {
  if (path_ == "-") {
    f_ = stdout;
    return;
  }
  f_ = std::fopen(path_.c_str(), "w");
  if (!f_) throw RuntimeError("cannot create " + path_ + ": " + std::strerror(errno));
  owned_ = true;
}

RowFile::~RowFile() {
  if (owned_) std::fclose(f_);
}

void RowFile::write(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), f_) != text.size()) {
    throw RuntimeError("cannot write to " + path_ + ": " + std::strerror(errno));
  }
}

void RowFile::flush() {
  if (std::fflush(f_) != 0 || std::ferror(f_)) throw RuntimeError("cannot write to " + path_ + ": " + std::strerror(errno));
}

}  // namespace agegender
