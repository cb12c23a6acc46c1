#include "agegender/evaluator.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "agegender/age_calibration.hpp"
#include "agegender/allocator.hpp"
#include "agegender/atomic_file.hpp"
#include "agegender/charts.hpp"
#include "agegender/csv.hpp"
#include "agegender/dir_lock.hpp"
#include "agegender/error.hpp"
#include "agegender/metrics.hpp"
#include "agegender/report.hpp"
#include "agegender/share_calibration.hpp"
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

// One row per image: its file and labels, the predicted class (name), its probability, expected age, P(female),
// then every class's probability (p_<class>: calibration and population-share analyses need the whole row).
std::string predictions_csv(const PredictionSet& p, const PreparedDataset& ds, const std::vector<size_t>& idx,
                            const std::vector<std::string>& names, const std::vector<double>& class_mean_age) {
  std::vector<std::string> header = {"file", "age", "gender", "race", "age_group", "age_group_prob", "expected_age", "female_prob"};
  const size_t k = static_cast<size_t>(p.num_classes);
  for (size_t c = 0; c < k; ++c) header.push_back("p_" + names[c]);
  std::string s = csv_line(header);
  for (size_t i = 0; i < p.size(); ++i) {
    std::string group, prob, age, female;
    if (k > 0) {
      const float* row = &p.age_probs[i * k];
      const size_t best = static_cast<size_t>(std::max_element(row, row + k) - row);
      group = names[best];
      prob = std::to_string(row[best]);
      double e = 0;
      for (size_t c = 0; c < k && p.expected_age.empty(); ++c) e += row[c] * class_mean_age[c];
      age = std::to_string(p.expected_age.empty() ? e : p.expected_age[i]);
    }
    if (!p.female_prob.empty()) female = std::to_string(p.female_prob[i]);
    std::vector<std::string> row = {ds.rows[idx[i]].file, std::to_string(p.true_age[i]), std::to_string(p.true_gender[i]),
                                    std::to_string(p.true_race[i]), group, prob, age, female};
    for (size_t c = 0; c < k; ++c) row.push_back(std::to_string(p.age_probs[i * k + c]));
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

// eval --calibrate-*: the checkpoint keeps everything but the refitted entries of its metadata, written
// atomically under the run's lock (a training run of the same directory rewrites it too); summary.json
// says which calibration the run now holds and what it was fitted on.
void save_refit(const EvalOptions& o, LoadedModel& lm, const json& meta_entries, const json& summary_entries) {
  const DirLock lock(o.run_dir, "run");
  lm.meta.update(meta_entries);
  lm.model->to(torch::kCPU);
  save_checkpoint(lm.path, *lm.model, nullptr, lm.meta);
  const fs::path summary_path = fs::path(o.run_dir) / "summary.json";
  json summary = read_json_or_null(summary_path);
  if (!summary.is_null()) {
    summary.update(summary_entries);
    write_file_atomic(summary_path.string(), summary.dump(2) + "\n");
  }
}

std::string fitted_on(const EvalOptions& o, const std::string& data_dir, size_t images) {
  return data_dir + " (" + o.split + ", " + std::to_string(images) + " images)";
}

// Refits the shares of every head the model has: the age groups' weights (own binning only, checked by
// the caller) and the gender weights. Returns what was refitted ({"age_share_weights": ..., ...}).
json refit_share_weights(const EvalOptions& o, LoadedModel& lm, const PredictionSet& p, const std::string& data_dir,
                         size_t images) {
  const auto names = lm.binning.class_names();
  const ShareCalibrations shares = fit_share_calibrations(p, names);
  for (const auto& w : shares.warnings) spdlog::warn("--calibrate-shares on {}: {} (what is not refitted stays as it was)", data_dir, w);
  if (!shares.age.empty()) lm.age_share_weights = shares.age;
  if (!shares.gender.empty()) lm.gender_share_weights = shares.gender;
  const json stored = share_calibrations_json(shares, names, false);
  json summary = share_calibrations_json(shares, names, true);
  for (const char* key : {"age_share_weights", "gender_share_weights"}) {
    if (summary.contains(key)) summary[std::string(key) + "_fitted_on"] = fitted_on(o, data_dir, images);
  }
  save_refit(o, lm, stored, summary);
  spdlog::info("Share calibration: {} refitted on {} {} images of {} and saved in {}", summary.dump(), images, o.split, data_dir, lm.path);
  return stored;
}

// `p` holds the uncalibrated expected ages: the fit starts from the network's own answer. A set the map
// cannot be fitted on is refused before anything is written.
void refit_age_calibration(const EvalOptions& o, LoadedModel& lm, const PredictionSet& p, const std::string& data_dir,
                           size_t images) {
  std::string why;
  const auto fit = fit_age_calibration(p.expected_age, p.true_age, &why);
  if (!fit) {
    throw UsageError("--calibrate-ages: no age calibration can be fitted on " + fitted_on(o, data_dir, images) + ": " + why +
                     "; " + lm.path + " keeps " + (lm.age_calibration.identity() ? "none" : lm.age_calibration.to_json().dump()));
  }
  lm.age_calibration = *fit;
  save_refit(o, lm, {{"age_calibration", lm.age_calibration.to_json()}},
             {{"age_calibration", lm.age_calibration.to_json()}, {"age_calibration_fitted_on", fitted_on(o, data_dir, images)}});
  spdlog::info("Age calibration: {} refitted on {} {} images of {} and saved in {}", lm.age_calibration.to_json().dump(), images,
               o.split, data_dir, lm.path);
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
  AgeBinning binning = lm.binning;
  if (!o.age_bins.empty()) {
    // balanced: quantiles of the run's own training split, as training computed them.
    std::vector<int> train_ages;
    const PreparedDataset own = o.data.empty() ? PreparedDataset() : PreparedDataset::open(cfg.at("data").at("prepared").get<std::string>());
    const PreparedDataset& train_ds = o.data.empty() ? ds : own;
    for (size_t i : train_ds.indices(Split::Train, cfg.at("data").value("subset", 1.0))) train_ages.push_back(train_ds.rows[i].label.age);
    binning = AgeBinning::parse(o.age_bins, train_ages, cfg.at("labels").value("balanced_classes", 7), "--age-bins");
  }
  const bool own_binning = binning.edges() == lm.binning.edges();
  if (!own_binning && lm.spec.age_head != "years") {
    throw UsageError("--age-bins " + o.age_bins + ": " + lm.path + " has a classification head for its own age groups (" +
                     binning_json(lm.binning).at("strategy").get<std::string>() +
                     ") and scores only those; a model trained with model.age_head \"years\" scores any binning");
  }
  if (o.calibrate_shares && !own_binning) {
    throw UsageError("--calibrate-shares fits the weights of the model's own age groups: drop --age-bins");
  }
  if (o.calibrate_ages && (lm.spec.age_head != "years" || lm.spec.num_age_classes == 0)) {
    throw UsageError("--calibrate-ages maps the expected age of a year head (model.age_head \"years\"): " + lm.path + " has " +
                     (lm.spec.num_age_classes == 0 ? "no age head" : "a classification head"));
  }
  const SplitData data = load_split(ds, idx, lm.binning);
  if (data.source_size != lm.input.source_size) {
    spdlog::warn("{} is cached at {} px, the model was trained from {} px images: its input is resampled from {} px, "
                 "which differs slightly from training (prepare it with --size {} for identical preprocessing)",
                 data_dir, data.source_size, lm.input.source_size, data.source_size, lm.input.source_size);
  }
  const double gender_weight = cfg.at("labels").at("gender_weight");
  const auto t0 = std::chrono::steady_clock::now();
  ScoreOptions so;
  so.batch_size = o.batch_size;
  so.gender_weight = gender_weight;
  so.device = device;
  so.tta = o.tta;
  PredictionSet p = predict_split(*lm.model, data, lm.input, lm.binning, so);
  if (!own_binning) p = rebin_years(p, binning);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.calibrate_ages) refit_age_calibration(o, lm, p, data_dir, idx.size());  // first: it may refuse the set
  const json refitted = o.calibrate_shares ? refit_share_weights(o, lm, p, data_dir, idx.size()) : json::object();
  lm.age_calibration.apply_all(p.expected_age);
  // The share weights were fitted for the model's own age groups.
  const EvalMetrics m =
      compute_metrics(p, lm.class_mean_age, own_binning ? lm.age_share_weights : std::vector<double>{}, lm.gender_share_weights);
  const auto names = binning.class_names();

  EvalResult r;
  r.out_dir = o.out_dir;
  if (r.out_dir.empty()) {
    r.out_dir = o.run_dir;
    if (split != Split::Test || !o.data.empty() || !o.age_bins.empty()) {
      r.out_dir = (fs::path(o.run_dir) / ("eval_" + o.split + (o.data.empty() ? "" : "_" + fs::path(data_dir).filename().string()) +
                                          (o.age_bins.empty() ? "" : "_" + binning.strategy()))).string();
    }
  }
  fs::create_directories(r.out_dir);
  if (!o.predictions.empty()) write_file_atomic(o.predictions, predictions_csv(p, ds, idx, names, lm.class_mean_age));
  r.eval = metrics_json(m, names);
  r.eval["split"] = o.split;
  r.eval["data"] = data_dir;
  r.eval["checkpoint"] = lm.path;
  r.eval["age_head"] = lm.spec.age_head;
  r.eval["binning"] = binning_json(binning);
  r.eval["tta"] = o.tta;
  r.eval["age_share_weights_refitted"] = refitted.contains("age_share_weights");
  r.eval["gender_share_weights_refitted"] = refitted.contains("gender_share_weights");
  r.eval["age_calibration"] = lm.spec.age_head == "years" ? lm.age_calibration.to_json() : json(nullptr);
  r.eval["age_calibration_refitted"] = o.calibrate_ages;
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
  if (!own_binning) {
    summary["config"]["labels"]["age_bins"] =
        binning.strategy() == "custom" ? json{{"edges", binning.edges()}} : json(binning.strategy());
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
