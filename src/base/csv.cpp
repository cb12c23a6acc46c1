#include "agegender/csv.hpp"

#include "agegender/error.hpp"

namespace agegender {

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    line += csv_field(fields[i]);
  }
  return line + "\n";
}

bool CsvReader::next(std::vector<std::string>& fields) {
  std::string text;
  do {
    if (!std::getline(in_, text)) return false;
    ++line_;
  } while (text.empty() || text == "\r");
  record_line_ = line_;
  fields.assign(1, std::string());
  bool quoted = false, after_quote = false;
  for (size_t i = 0;; ++i) {
    if (i == text.size()) {
      if (!quoted) break;
      // A quoted field continues on the next physical line.
      if (!std::getline(in_, text)) {
        throw RuntimeError("line " + std::to_string(record_line_) + ": unterminated quoted field");
      }
      ++line_;
      fields.back() += '\n';
      i = static_cast<size_t>(-1);
      continue;
    }
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else {
        quoted = false;
        after_quote = true;
      }
    } else if (c == ',') {
      fields.emplace_back();
      after_quote = false;
    } else if (c == '"' && fields.back().empty() && !after_quote) {
      quoted = true;
    } else if (c == '\r' && i + 1 == text.size()) {
      // CRLF line end
    } else if (after_quote) {
      throw RuntimeError("line " + std::to_string(line_) + ": text after a closing quote");
    } else {
      fields.back() += c;
    }
  }
  return true;
}

}  // namespace agegender
