#pragma once
// `agegender eval`: score a run's best checkpoint on a split of its own or another prepared dataset.
#include <nlohmann/json.hpp>
#include <string>

namespace agegender {

struct EvalOptions {
  std::string run_dir;
  std::string split = "test";  // train | val | test
  std::string data;            // other prepared dataset (default: the run's data.prepared)
  std::string out_dir;         // default: the run directory (test of its own data) or <run>/eval_<split>[_<data>]
  int threads = 0;
  int batch_size = 256;
  std::string device = "auto";  // cpu | cuda | auto (a GPU when this LibTorch sees one)
  std::string age_bins;  // score this binning (bin10 | balanced | intuition | {"edges": [...]}); needs a year head
                         // unless it is the model's own; "" = the model's own
  bool tta = false;      // average the probabilities of each image and its horizontal flip
  std::string predictions;  // also write one CSV row per image here (for side-by-side comparisons)
  bool calibrate_shares = false;  // refit the checkpoint's age_ and gender_share_weights on these images and save them
                                  // (share_calibration.hpp): faces from the cameras the model will count
  bool calibrate_ages = false;    // refit the checkpoint's age_calibration (age_calibration.hpp) on these images
};

struct EvalResult {
  std::string out_dir;
  nlohmann::json eval;  // eval.json
  std::string markdown_row, csv_row;
};

EvalResult evaluate_run(const EvalOptions& options);

}  // namespace agegender
