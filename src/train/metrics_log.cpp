#include "train/metrics_log.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agegender/atomic_file.hpp"
#include "agegender/charts.hpp"
#include "agegender/csv.hpp"
#include "agegender/error.hpp"

namespace agegender {

nlohmann::json EpochMetrics::to_json() const {
  return {{"epoch", epoch}, {"train_loss", train_loss}, {"train_acc", train_acc}, {"val_loss", val_loss},
          {"val_acc", val_acc}, {"val_gender_acc", val_gender_acc}, {"lr", lr}, {"seconds", seconds},
          {"images_per_s", images_per_s}};
}

EpochMetrics EpochMetrics::from_json(const nlohmann::json& j) {
  // null is how JSON writes a NaN (no val split): read it back as NaN.
  const auto num = [&j](const char* key) {
    const auto it = j.find(key);
    return it == j.end() ? 0.0 : it->is_null() ? NAN : it->get<double>();
  };
  EpochMetrics m;
  m.epoch = j.value("epoch", 0);
  m.train_loss = num("train_loss");
  m.train_acc = num("train_acc");
  m.val_loss = num("val_loss");
  m.val_acc = num("val_acc");
  m.val_gender_acc = num("val_gender_acc");
  m.lr = num("lr");
  m.seconds = num("seconds");
  m.images_per_s = num("images_per_s");
  return m;
}

namespace {

std::string csv_line(const EpochMetrics& m) {
  const auto f = [](const char* format, double v) {
    if (!std::isfinite(v)) return std::string();  // absent (no val split): an empty field, not "nan" or 0
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return std::string(buf);
  };
  return agegender::csv_line({std::to_string(m.epoch), f("%.6f", m.train_loss), f("%.6f", m.train_acc),
                              f("%.6f", m.val_loss), f("%.6f", m.val_acc), f("%.6f", m.val_gender_acc), f("%.6g", m.lr),
                              f("%.2f", m.seconds), f("%.1f", m.images_per_s)});
}

EpochMetrics parse_line(const std::string& line, const std::string& where) {
  std::stringstream ss(line);
  std::string f;
  std::vector<double> v;
  while (std::getline(ss, f, ',')) {
    if (f.empty()) {
      v.push_back(NAN);
      continue;
    }
    try {
      v.push_back(std::stod(f));
    } catch (const std::exception&) {
      throw RuntimeError(where + ": bad number '" + f + "'");
    }
  }
  if (v.size() != 9) throw RuntimeError(where + ": expected 9 columns");
  EpochMetrics m;
  m.epoch = static_cast<int>(v[0]);
  m.train_loss = v[1], m.train_acc = v[2], m.val_loss = v[3], m.val_acc = v[4], m.val_gender_acc = v[5];
  m.lr = v[6], m.seconds = v[7], m.images_per_s = v[8];
  return m;
}

}  // namespace

MetricsLog::MetricsLog(std::string path, int keep_epochs) : path_(std::move(path)) {
  std::ifstream in(path_);
  std::string line;
  if (in && std::getline(in, line)) {
    if (line != kHeader) throw RuntimeError(path_ + ": unexpected header '" + line + "'");
    for (int n = 2; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      EpochMetrics m = parse_line(line, path_ + ":" + std::to_string(n));
      if (m.epoch <= keep_epochs) rows_.push_back(m);
    }
  }
  std::string text = std::string(kHeader) + "\n";
  for (const auto& m : rows_) text += csv_line(m);
  write_file_atomic(path_, text);
}

void MetricsLog::append(const EpochMetrics& m) {
  rows_.push_back(m);
  std::ofstream out(path_, std::ios::app);
  out << csv_line(m);
  out.flush();
  if (!out) throw RuntimeError("cannot append to " + path_);
}

void MetricsLog::write_curves(const std::string& png_path) const {
  Series tl{"train", {}}, vl{"val", {}}, ta{"train", {}}, va{"val", {}};
  for (const auto& m : rows_) {
    tl.y.push_back(m.train_loss);
    vl.y.push_back(m.val_loss);
    ta.y.push_back(m.train_acc);
    va.y.push_back(m.val_acc);
  }
  // Without a val split the val series are all NaN: draw train alone.
  const bool has_val = std::any_of(vl.y.begin(), vl.y.end(), [](double v) { return std::isfinite(v); });
  if (!has_val) {
    write_line_chart(png_path, {{"Loss", {tl}}, {"Accuracy", {ta}}}, "epoch");
    return;
  }
  write_line_chart(png_path, {{"Loss", {tl, vl}}, {"Accuracy", {ta, va}}}, "epoch");
}

}  // namespace agegender
