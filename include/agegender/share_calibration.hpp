#pragma once
// Population shares from per-face class probabilities (torch-free). A model's mean probability per age
// group (the expected share) carries the model's bias: a year head trained with label-distribution
// smoothing, for one, spreads the babies of 0-2 into 3-12 on every set it sees. Weights fitted on the
// validation split at the end of training (p_c w_c / sum_j p_j w_j) make the expected shares there equal
// the true ones; `visitors` applies them to a day's shares, never to a person's own answer. The gender
// head gets the same two-class calibration (male, female): a head that under-finds women by a point or
// two on small faces moves a day's female share by as much.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace agegender {

struct PredictionSet;  // metrics.hpp

/// Per-class weights w (mean 1 in the log, clamped to [0.1, 10]) such that the mean of the reweighted
/// probabilities over the N rows of `probs` (N x k, row-major) equals `true_share`: iterative proportional
/// scaling. A class without any true row keeps weight 1. Empty when there are no rows.
std::vector<double> fit_share_weights(const std::vector<float>& probs, int k, const std::vector<double>& true_share,
                                      int iterations = 200);

/// One row of k probabilities reweighted and renormalised; the row itself when `weights` is empty.
std::vector<double> reweighted(const float* probs, int k, const std::vector<double>& weights);

/// Total variation between two distributions over the same groups: half the summed absolute differences.
double total_variation(const std::vector<double>& a, const std::vector<double>& b);

/// The gender weights' names, in their order (summary.json).
inline const std::vector<std::string> kGenderShareNames = {"male", "female"};

/// The two-class rows (P(male), P(female)) of a gender head's female probabilities, for fit_share_weights.
std::vector<float> gender_rows(const std::vector<float>& female_prob);

/// The gender weights (male, female) fitted so that the mean reweighted P(female) equals `true_female_share`;
/// empty when there are no rows or the set holds one gender only (no ratio to fit).
std::vector<double> fit_gender_share_weights(const std::vector<float>& female_prob, double true_female_share);

/// P(female) reweighted by gender weights (male, female); `female_prob` itself when `weights` is empty.
double reweighted_female(float female_prob, const std::vector<double>& weights);

/// Both share calibrations fitted on a labelled set, as `train` (validation split) and `eval
/// --calibrate-shares` do: the age groups' weights when `p` has an age head, the gender weights when it
/// has a gender head. Empty vectors are not fitted; `warnings` say what was left out and why.
struct ShareCalibrations {
  std::vector<double> age, gender;
  std::vector<std::string> warnings;
};
ShareCalibrations fit_share_calibrations(const PredictionSet& p, const std::vector<std::string>& age_groups);

/// The fitted weights as a checkpoint stores them ({"age_share_weights": [...], "gender_share_weights":
/// [...]}) or, with `named`, as summary.json shows them ({"<group>": w, ...}, {"male": w, "female": w}).
nlohmann::json share_calibrations_json(const ShareCalibrations& c, const std::vector<std::string>& age_groups, bool named);

/// {"<group>": weight, ...} for summary.json.
nlohmann::json share_weights_json(const std::vector<double>& weights, const std::vector<std::string>& names);

/// Throws RuntimeError naming `origin` and `key` unless `weights` is empty or k finite values in [0.1, 10]
/// (k `unit`s: "age groups", "genders").
void validate_share_weights(const std::vector<double>& weights, int k, const std::string& origin,
                            const std::string& key = "age_share_weights", const std::string& unit = "age groups");

}  // namespace agegender
