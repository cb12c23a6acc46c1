#pragma once
// Evaluation metrics from per-image predictions (torch-free, so they are tested against hand-computed values).
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "agegender/binning.hpp"

namespace agegender {

struct PredictionSet {
  int num_classes = 0;              // 0 when the model has no age head
  std::vector<float> age_probs;     // N x num_classes, row-major
  std::vector<float> female_prob;   // N, empty when the model has no gender head
  std::vector<int> true_class, true_gender, true_race, true_age;
  double loss_sum = 0;  // summed per-image loss (age CE + w * gender CE)
  // Year heads only: N x year_classes probabilities over ages 0..year_classes-1 (age_probs are their sums
  // over each class's years) and the expected age, which age_mae then uses instead of class mean ages.
  int year_classes = 0;
  std::vector<float> year_probs, expected_age;  // expected_age: as scored (uncalibrated); eval and train apply
                                                // the checkpoint's age calibration before compute_metrics
  double gender_loss_sum = 0;  // the gender part of loss_sum (w * CE), so a rebinning can recompute the age part
  size_t size() const { return true_class.size(); }
};

/// The same predictions scored with another binning: class probabilities are sums of the year
/// probabilities, true classes come from the true ages, the age part of the loss is the binned NLL.
/// Throws UsageError when `p` has no year probabilities (a per-binning classification head).
PredictionSet rebin_years(const PredictionSet& p, const AgeBinning& binning);

struct ClassStats {
  double precision = 0, recall = 0, f1 = 0;
  long support = 0;
};

struct GroupAccuracy {
  long n = 0;
  double age_accuracy = 0, gender_accuracy = 0;
};

struct EvalMetrics {
  size_t n = 0;
  double loss = 0, accuracy = 0, top2_accuracy = 0, gender_accuracy = 0, age_mae = 0;
  std::vector<std::vector<long>> confusion;  // [true][predicted]
  std::vector<ClassStats> per_class;
  std::vector<GroupAccuracy> per_race, per_gender;
  // The population's shares, for users who count rather than label (visitors' age pyramid): per age
  // class the true share, the share predicted by argmax and the mean probability (expected share), and
  // their total variation from the true shares; the same for the female share (-1 without a gender head).
  std::vector<double> true_share, argmax_share, expected_share;
  double share_tv_argmax = 0, share_tv_expected = 0;
  // With the model's share weights (share_calibration.hpp): the expected share of the reweighted
  // probabilities and its total variation (-1 without weights).
  std::vector<double> calibrated_share;
  double share_tv_calibrated = -1;
  double female_true = -1, female_argmax = -1, female_expected = -1;
  double female_calibrated = -1;  // the mean P(female) reweighted by the gender weights (-1 without them)
};

/// `class_mean_age[k]` = mean training age of class k: age_mae uses the expected age sum_k p_k * mean_k.
/// `share_weights` / `gender_weights` (may be empty): the model's age- and gender-share calibrations, for
/// calibrated_share and female_calibrated.
EvalMetrics compute_metrics(const PredictionSet& p, const std::vector<double>& class_mean_age,
                            const std::vector<double>& share_weights = {}, const std::vector<double>& gender_weights = {});

/// eval.json body: loss, accuracy, top2_accuracy, gender_accuracy, age_mae, confusion_matrix, per_class,
/// per_race, per_gender (class names label per_class), age_shares, female_share.
nlohmann::json metrics_json(const EvalMetrics& m, const std::vector<std::string>& class_names);

}  // namespace agegender
