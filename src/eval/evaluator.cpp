#include "agegender/evaluator.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "agegender/allocator.hpp"
#include "agegender/atomic_file.hpp"
#include "agegender/charts.hpp"
#include "agegender/csv.hpp"
#include "agegender/error.hpp"
#include "agegender/metrics.hpp"
#include "agegender/report.hpp"
#include "agegender/threads.hpp"
#include "model/inference.hpp"
#include "model/checkpoint.hpp"
#include "model/device.hpp"

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string confusion_csv(const EvalMetrics& m, const std::vector<std::string>& names) {
  std::vector<std::string> header = {"true\\predicted"};
  header.insert(header.end(), names.begin(), names.end());
  std::string s = csv_line(header);
  for (size_t r = 0; r < m.confusion.size(); ++r) {
    std::vector<std::string> row = {names[r]};
    for (long v : m.confusion[r]) row.push_back(std::to_string(v));
    s += csv_line(row);
  }
  return s;
}

json read_json_or_null(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return nullptr;
  json j = json::parse(in, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

}  // namespace

EvalResult evaluate_run(const EvalOptions& o) {
  const int threads = resolve_threads(o.threads, "--threads");
  if (!fs::is_directory(o.run_dir)) throw UsageError("--run " + o.run_dir + ": no such run directory");
  std::error_code ec;
  if (!o.out_dir.empty() && fs::exists(o.out_dir, ec) && !fs::is_directory(o.out_dir, ec)) {
    throw UsageError("--out " + o.out_dir + " exists and is not a folder (eval writes eval.json and confusion matrices into it)");
  }
  const Split split = parse_split(o.split);
  torch::set_num_threads(threads);
  tune_allocator();
  const torch::Device device = pick_device(o.device, "--device");
  LoadedModel lm = load_trained_model(o.run_dir);
  lm.model->to(device);
  const json& cfg = lm.meta.at("config");
  const std::string data_dir = o.data.empty() ? cfg.at("data").at("prepared").get<std::string>() : o.data;
  const PreparedDataset ds = PreparedDataset::open(data_dir);
  // The run's own data is scored on the same subset it trained with (data.subset); other data in full.
  const double fraction = o.data.empty() ? cfg.at("data").value("subset", 1.0) : 1.0;
  const auto idx = ds.indices(split, fraction);
  if (idx.empty()) throw UsageError("prepared dataset " + data_dir + " has no '" + o.split + "' images");
  const SplitData data = load_split(ds, idx, lm.binning);
  if (data.source_size != lm.input.source_size) {
    spdlog::warn("{} is cached at {} px, the model was trained from {} px images: its input is resampled from {} px, "
                 "which differs slightly from training (prepare it with --size {} for identical preprocessing)",
                 data_dir, data.source_size, lm.input.source_size, data.source_size, lm.input.source_size);
  }
  const double gender_weight = cfg.at("labels").at("gender_weight");
  const auto t0 = std::chrono::steady_clock::now();
  const PredictionSet p = predict_split(*lm.model, data, lm.input, o.batch_size, gender_weight, device);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const EvalMetrics m = compute_metrics(p, lm.class_mean_age);
  const auto names = lm.binning.class_names();

  EvalResult r;
  r.out_dir = o.out_dir;
  if (r.out_dir.empty()) {
    r.out_dir = o.run_dir;
    if (split != Split::Test || !o.data.empty()) {
      r.out_dir = (fs::path(o.run_dir) / ("eval_" + o.split + (o.data.empty() ? "" : "_" + fs::path(data_dir).filename().string()))).string();
    }
  }
  fs::create_directories(r.out_dir);
  r.eval = metrics_json(m, names);
  r.eval["split"] = o.split;
  r.eval["data"] = data_dir;
  r.eval["checkpoint"] = lm.path;
  r.eval["seconds"] = secs;
  r.eval["images_per_s"] = m.n / std::max(secs, 1e-9);
  write_file_atomic((fs::path(r.out_dir) / "eval.json").string(), r.eval.dump(2) + "\n");
  if (m.n > 0 && !m.confusion.empty()) {
    write_file_atomic((fs::path(r.out_dir) / "confusion_matrix.csv").string(), confusion_csv(m, names));
    if (charts_available()) {
      write_confusion_matrix((fs::path(r.out_dir) / "confusion_matrix.png").string(),
                             "Age group confusion (" + o.split + ", acc " + std::to_string(m.accuracy).substr(0, 5) + ")",
                             names, m.confusion);
    }
  }
  // The seed's table row: training columns from summary.json, test columns from this evaluation.
  json summary = read_json_or_null(fs::path(o.run_dir) / "summary.json");
  if (summary.is_null()) {
    summary = {{"epochs_run", lm.meta.at("state").at("epoch")}, {"epochs_max", cfg.at("train").at("epochs")},
               {"train_loss", lm.meta.at("state").at("best_metrics").at("train_loss")},
               {"train_acc", lm.meta.at("state").at("best_metrics").at("train_acc")}, {"seconds", lm.meta.at("state").at("seconds")},
               {"config", cfg}};
  }
  summary["test_loss"] = m.loss;
  summary["test_acc"] = m.accuracy;
  summary["test_gender_acc"] = m.gender_accuracy;
  summary["test_age_mae"] = m.age_mae;
  const TableRow row = table_row_from_summary(summary);
  r.markdown_row = markdown_row(row);
  r.csv_row = csv_line(csv_row(row));
  return r;
}

}  // namespace agegender
