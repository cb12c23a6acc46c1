#pragma once
// RFC 4180 CSV: every CSV the tool writes goes through csv_line, every one it reads through CsvReader,
// so a comma, quote or newline inside a field (a file name, a class name) round-trips.
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace agegender {

/// The field as written: quoted (with "" for ") when it holds a comma, quote, CR or LF.
std::string csv_field(std::string_view value);
/// Fields joined by commas, ending in "\n".
std::string csv_line(const std::vector<std::string>& fields);

/// Reads records, honouring quoted fields that span lines. Throws RuntimeError("line N: ...") on an
/// unterminated quote or text after a closing quote; callers prefix the file name.
class CsvReader {
 public:
  explicit CsvReader(std::istream& in) : in_(in) {}
  /// False at end of input. Blank lines are skipped.
  bool next(std::vector<std::string>& fields);
  /// Line number (1-based) where the last record returned by next() started.
  size_t line() const { return record_line_; }

 private:
  std::istream& in_;
  size_t line_ = 0, record_line_ = 0;
};

}  // namespace agegender
