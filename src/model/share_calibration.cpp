#include "agegender/share_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "agegender/error.hpp"

namespace agegender {

namespace {
constexpr double kMinWeight = 0.1, kMaxWeight = 10;
}

std::vector<double> reweighted(const float* probs, int k, const std::vector<double>& weights) {
  std::vector<double> q(probs, probs + k);
  if (weights.empty()) return q;
  double sum = 0;
  for (int c = 0; c < k; ++c) sum += q[static_cast<size_t>(c)] *= weights[static_cast<size_t>(c)];
  if (sum > 0) {
    for (double& x : q) x /= sum;
  }
  return q;
}

std::vector<double> fit_share_weights(const std::vector<float>& probs, int k, const std::vector<double>& true_share,
                                      int iterations) {
  const size_t n = k > 0 ? probs.size() / static_cast<size_t>(k) : 0;
  if (n == 0) return {};
  std::vector<double> w(static_cast<size_t>(k), 1.0);
  for (int it = 0; it < iterations; ++it) {
    std::vector<double> mean(static_cast<size_t>(k), 0.0);
    for (size_t i = 0; i < n; ++i) {
      const std::vector<double> q = reweighted(&probs[i * static_cast<size_t>(k)], k, w);
      for (size_t c = 0; c < q.size(); ++c) mean[c] += q[c] / static_cast<double>(n);
    }
    for (size_t c = 0; c < w.size(); ++c) {
      if (true_share[c] > 0 && mean[c] > 0) w[c] = std::clamp(w[c] * true_share[c] / mean[c], kMinWeight, kMaxWeight);
    }
  }
  // Only ratios matter: centre the weights at 1 in the log so the numbers read as "x times as likely".
  double log_mean = 0;
  for (double x : w) log_mean += std::log(x) / static_cast<double>(w.size());
  for (double& x : w) x = std::clamp(x / std::exp(log_mean), kMinWeight, kMaxWeight);
  return w;
}

std::vector<float> gender_rows(const std::vector<float>& female_prob) {
  std::vector<float> rows;
  rows.reserve(2 * female_prob.size());
  for (float f : female_prob) rows.insert(rows.end(), {1 - f, f});
  return rows;
}

std::vector<double> fit_gender_share_weights(const std::vector<float>& female_prob, double true_female_share) {
  return fit_share_weights(gender_rows(female_prob), 2, {1 - true_female_share, true_female_share});
}

double reweighted_female(float female_prob, const std::vector<double>& weights) {
  if (weights.size() != 2) return female_prob;
  const float row[2] = {1 - female_prob, female_prob};
  return reweighted(row, 2, weights)[1];
}

double total_variation(const std::vector<double>& a, const std::vector<double>& b) {
  double tv = 0;
  for (size_t c = 0; c < a.size() && c < b.size(); ++c) tv += 0.5 * std::fabs(a[c] - b[c]);
  return tv;
}

nlohmann::json share_weights_json(const std::vector<double>& weights, const std::vector<std::string>& names) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t c = 0; c < weights.size() && c < names.size(); ++c) j[names[c]] = weights[c];
  return j;
}

void validate_share_weights(const std::vector<double>& weights, int k, const std::string& origin, const std::string& key) {
  if (weights.empty()) return;
  if (weights.size() != static_cast<size_t>(k)) {
    throw RuntimeError(origin + ": " + key + " has " + std::to_string(weights.size()) + " values for " + std::to_string(k) +
                       " classes");
  }
  for (double x : weights) {
    if (!std::isfinite(x) || x < kMinWeight || x > kMaxWeight) {
      throw RuntimeError(origin + ": " + key + " holds " + std::to_string(x) + " (expected 0.1 to 10)");
    }
  }
}

}  // namespace agegender
