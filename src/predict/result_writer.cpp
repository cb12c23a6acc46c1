#include "predict/result_writer.hpp"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "agegender/error.hpp"

namespace agegender {
namespace {
std::string fixed(double v, int digits) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}
}  // namespace

ResultWriter::ResultWriter(const std::string& path, const std::string& format) : path_(path) {
  if (format != "csv" && format != "jsonl") throw UsageError("--format " + format + ": expected csv or jsonl");
  jsonl_ = format == "jsonl";
  if (path.empty() || path == "-") {
    f_ = stdout;
  } else {
    f_ = std::fopen(path.c_str(), "w");
    if (!f_) throw RuntimeError("cannot create " + path + ": " + std::strerror(errno));
    owned_ = true;
  }
  if (!jsonl_) std::fprintf(f_, "%s\n", kColumns);
}

ResultWriter::~ResultWriter() {
  if (owned_) std::fclose(f_);
}

std::string ResultWriter::csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string ResultWriter::csv_line(const PredictionRow& r) {
  const bool ok = r.error.empty();
  return csv_escape(r.file) + "," + (r.frame >= 0 ? std::to_string(r.frame) : "") + "," + std::to_string(r.face) + "," +
         std::to_string(r.x) + "," + std::to_string(r.y) + "," + std::to_string(r.w) + "," + std::to_string(r.h) + "," +
         (ok ? csv_escape(r.age_group) : "") + "," + (ok ? fixed(r.age_prob, 4) : "") + "," + (ok ? fixed(r.age, 1) : "") +
         "," + (ok ? r.gender : "") + "," + (ok ? fixed(r.gender_prob, 4) : "") + "," + csv_escape(r.error) + "\n";
}

std::string ResultWriter::json_line(const PredictionRow& r) {
  nlohmann::ordered_json j;
  j["file"] = r.file;
  j["frame"] = r.frame >= 0 ? nlohmann::ordered_json(r.frame) : nlohmann::ordered_json(nullptr);
  j["face"] = r.face;
  j["x"] = r.x;
  j["y"] = r.y;
  j["w"] = r.w;
  j["h"] = r.h;
  const bool ok = r.error.empty();
  j["age_group"] = ok ? nlohmann::ordered_json(r.age_group) : nullptr;
  j["age_prob"] = ok ? nlohmann::ordered_json(r.age_prob) : nullptr;
  j["age"] = ok ? nlohmann::ordered_json(r.age) : nullptr;
  j["gender"] = ok ? nlohmann::ordered_json(r.gender) : nullptr;
  j["gender_prob"] = ok ? nlohmann::ordered_json(r.gender_prob) : nullptr;
  j["error"] = r.error;
  return j.dump() + "\n";
}

void ResultWriter::write(const PredictionRow& r) {
  const std::string line = jsonl_ ? json_line(r) : csv_line(r);
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size()) {
    throw RuntimeError("cannot write results to " + (owned_ ? path_ : std::string("stdout")));
  }
}

void ResultWriter::flush() { std::fflush(f_); }

}  // namespace agegender
