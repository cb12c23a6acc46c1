#pragma once
// Population shares from per-face class probabilities (torch-free). A model's mean probability per age
// group (the expected share) carries the model's bias: a year head trained with label-distribution
// smoothing, for one, spreads the babies of 0-2 into 3-12 on every set it sees. Weights fitted on the
// validation split at the end of training (p_c w_c / sum_j p_j w_j) make the expected shares there equal
// the true ones; `visitors` applies them to a day's shares, never to a person's own answer.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace agegender {

/// Per-class weights w (mean 1 in the log, clamped to [0.1, 10]) such that the mean of the reweighted
/// probabilities over the N rows of `probs` (N x k, row-major) equals `true_share`: iterative proportional
/// scaling. A class without any true row keeps weight 1. Empty when there are no rows.
std::vector<double> fit_share_weights(const std::vector<float>& probs, int k, const std::vector<double>& true_share,
                                      int iterations = 200);

/// One row of k probabilities reweighted and renormalised; the row itself when `weights` is empty.
std::vector<double> reweighted(const float* probs, int k, const std::vector<double>& weights);

/// Total variation between two distributions over the same groups: half the summed absolute differences.
double total_variation(const std::vector<double>& a, const std::vector<double>& b);

/// {"<group>": weight, ...} for summary.json.
nlohmann::json share_weights_json(const std::vector<double>& weights, const std::vector<std::string>& names);

/// Throws RuntimeError naming `origin` unless `weights` is empty or k finite values in [0.1, 10].
void validate_share_weights(const std::vector<double>& weights, int k, const std::string& origin);

}  // namespace agegender
