#include "train/metrics_log.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agegender/atomic_file.hpp"
#include "agegender/charts.hpp"
#include "agegender/error.hpp"

namespace agegender {

nlohmann::json EpochMetrics::to_json() const {
  return {{"epoch", epoch}, {"train_loss", train_loss}, {"train_acc", train_acc}, {"val_loss", val_loss},
          {"val_acc", val_acc}, {"val_gender_acc", val_gender_acc}, {"lr", lr}, {"seconds", seconds},
          {"images_per_s", images_per_s}};
}

EpochMetrics EpochMetrics::from_json(const nlohmann::json& j) {
  EpochMetrics m;
  m.epoch = j.value("epoch", 0);
  m.train_loss = j.value("train_loss", 0.0);
  m.train_acc = j.value("train_acc", 0.0);
  m.val_loss = j.value("val_loss", 0.0);
  m.val_acc = j.value("val_acc", 0.0);
  m.val_gender_acc = j.value("val_gender_acc", 0.0);
  m.lr = j.value("lr", 0.0);
  m.seconds = j.value("seconds", 0.0);
  m.images_per_s = j.value("images_per_s", 0.0);
  return m;
}

namespace {

std::string csv_line(const EpochMetrics& m) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.2f,%.1f\n", m.epoch, m.train_loss, m.train_acc,
                m.val_loss, m.val_acc, m.val_gender_acc, m.lr, m.seconds, m.images_per_s);
  return buf;
}

EpochMetrics parse_line(const std::string& line, const std::string& where) {
  std::stringstream ss(line);
  std::string f;
  std::vector<double> v;
  while (std::getline(ss, f, ',')) {
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
  write_line_chart(png_path, {{"Loss", {tl, vl}}, {"Accuracy", {ta, va}}}, "epoch");
}

}  // namespace agegender
