#include "embed/descriptor_writer.hpp"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "agegender/csv.hpp"
#include "agegender/error.hpp"
#include "agegender/face_embedder.hpp"

namespace agegender {

std::string descriptor_format(const std::string& path, const std::string& format) {
  if (!format.empty()) {
    if (format != "csv" && format != "jsonl") throw UsageError("--format " + format + ": expected csv or jsonl");
    return format;
  }
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".csv") return "csv";
  if (ext == ".jsonl" || ext == ".ndjson") return "jsonl";
  throw UsageError("--out " + path + ": name a .jsonl or .csv file (or give --format)");
}

std::string descriptor_csv_header(bool landmarks) {
  std::vector<std::string> h = FaceLocation::csv_header();
  for (int k = 0; k < kDescriptorSize; ++k) h.push_back("d" + std::to_string(k));
  if (landmarks) h.insert(h.end(), {"score", "landmarks"});
  h.push_back("error");
  return csv_line(h);
}

std::string descriptor_csv_line(const DescriptorRow& r, bool landmarks) {
  std::vector<std::string> f = r.where.csv_fields();
  char buf[32];
  for (int k = 0; k < kDescriptorSize; ++k) {
    if (r.descriptor) std::snprintf(buf, sizeof buf, "%.7g", r.descriptor[k]);
    f.push_back(r.descriptor ? buf : "");
  }
  if (landmarks) {
    const auto m = r.marks.csv_fields(r.descriptor != nullptr);
    f.insert(f.end(), m.begin(), m.end());
  }
  f.push_back(r.error);
  return csv_line(f);
}

std::string descriptor_json_line(const DescriptorRow& r, bool landmarks) {
  nlohmann::ordered_json j = r.where.json();
  j["descriptor"] = r.descriptor ? nlohmann::ordered_json(std::vector<float>(r.descriptor, r.descriptor + kDescriptorSize))
                                 : nlohmann::ordered_json(nullptr);
  if (landmarks) r.marks.add_json(j, r.descriptor != nullptr);
  j["error"] = r.error;
  return j.dump() + "\n";
}

}  // namespace agegender
