#include "predict/result_writer.hpp"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "agegender/csv.hpp"
#include "agegender/error.hpp"
#include "agegender/face_location.hpp"

namespace agegender {
namespace {
std::string fixed(double v, int digits) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}
}  // namespace

namespace {
// The format is checked before the file is created: a bad --format must not truncate an existing file.
const std::string& checked_format(const std::string& format) {
  if (format != "csv" && format != "jsonl") throw UsageError("--format " + format + ": expected csv or jsonl");
  return format;
}
}  // namespace

ResultWriter::ResultWriter(const std::string& path, const std::string& format, bool landmarks)
    : jsonl_(checked_format(format) == "jsonl"), landmarks_(landmarks), file_(path) {
  if (jsonl_) return;
  std::string header = kColumns;
  if (landmarks_) header.insert(header.rfind(",error"), ",score,landmarks");
  file_.write(header + "\n");
}

std::string ResultWriter::csv_line(const PredictionRow& r, bool landmarks) {
  const bool ok = r.error.empty();
  std::vector<std::string> f = FaceLocation{r.file, r.frame, r.face, r.x, r.y, r.w, r.h}.csv_fields();
  f.insert(f.end(), {ok ? r.age_group : "", ok ? fixed(r.age_prob, 4) : "", ok ? fixed(r.age, 1) : "", ok ? r.gender : "",
                     ok ? fixed(r.gender_prob, 4) : ""});
  if (landmarks) {
    const auto m = r.marks.csv_fields(ok);
    f.insert(f.end(), m.begin(), m.end());
  }
  f.push_back(r.error);
  return agegender::csv_line(f);
}

std::string ResultWriter::json_line(const PredictionRow& r, bool landmarks) {
  nlohmann::ordered_json j = FaceLocation{r.file, r.frame, r.face, r.x, r.y, r.w, r.h}.json();
  const bool ok = r.error.empty();
  j["age_group"] = ok ? nlohmann::ordered_json(r.age_group) : nullptr;
  j["age_prob"] = ok ? nlohmann::ordered_json(r.age_prob) : nullptr;
  j["age"] = ok ? nlohmann::ordered_json(r.age) : nullptr;
  j["gender"] = ok ? nlohmann::ordered_json(r.gender) : nullptr;
  j["gender_prob"] = ok ? nlohmann::ordered_json(r.gender_prob) : nullptr;
  if (landmarks) r.marks.add_json(j, ok);
  j["error"] = r.error;
  return j.dump() + "\n";
}

void ResultWriter::write(const PredictionRow& r) {
  file_.write(jsonl_ ? json_line(r, landmarks_) : csv_line(r, landmarks_));
}

void ResultWriter::flush() { file_.flush(); }

}  // namespace agegender
