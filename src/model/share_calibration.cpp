#include "agegender/share_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "agegender/error.hpp"
#include "agegender/metrics.hpp"

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
  // With one gender only the weights would run to the clamp (10 : 0.1), not to a ratio.
  if (female_prob.empty() || !(true_female_share > 0 && true_female_share < 1)) return {};
  return fit_share_weights(gender_rows(female_prob), 2, {1 - true_female_share, true_female_share});
}

double reweighted_female(float female_prob, const std::vector<double>& weights) {
  if (weights.size() != 2) return female_prob;
  const float row[2] = {1 - female_prob, female_prob};
  return reweighted(row, 2, weights)[1];
}

ShareCalibrations fit_share_calibrations(const PredictionSet& p, const std::vector<std::string>& age_groups) {
  ShareCalibrations c;
  const size_t n = p.size();
  if (n == 0) return c;
  if (p.num_classes > 0) {
    std::vector<double> true_share(static_cast<size_t>(p.num_classes), 0.0);
    for (int k : p.true_class) true_share[static_cast<size_t>(k)] += 1.0 / static_cast<double>(n);
    for (size_t k = 0; k < true_share.size() && k < age_groups.size(); ++k) {
      if (true_share[k] == 0) c.warnings.push_back("no '" + age_groups[k] + "' face: its age-share weight stays 1");
    }
    c.age = fit_share_weights(p.age_probs, p.num_classes, true_share);
  }
  if (!p.female_prob.empty()) {
    double female = 0;
    for (int g : p.true_gender) female += g;
    c.gender = fit_gender_share_weights(p.female_prob, female / static_cast<double>(n));
    if (c.gender.empty()) c.warnings.push_back(std::string("only ") + (female == 0 ? "men" : "women") + ": no gender-share weights fitted");
  }
  return c;
}

nlohmann::json share_calibrations_json(const ShareCalibrations& c, const std::vector<std::string>& age_groups, bool named) {
  nlohmann::json j = nlohmann::json::object();
  if (!c.age.empty()) j["age_share_weights"] = named ? share_weights_json(c.age, age_groups) : nlohmann::json(c.age);
  if (!c.gender.empty()) j["gender_share_weights"] = named ? share_weights_json(c.gender, kGenderShareNames) : nlohmann::json(c.gender);
  return j;
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

void validate_share_weights(const std::vector<double>& weights, int k, const std::string& origin, const std::string& key,
                            const std::string& unit) {
  if (weights.empty()) return;
  if (weights.size() != static_cast<size_t>(k)) {
    throw RuntimeError(origin + ": " + key + " has " + std::to_string(weights.size()) + " values for " + std::to_string(k) +
                       " " + unit);
  }
  for (double x : weights) {
    if (!std::isfinite(x) || x < kMinWeight || x > kMaxWeight) {
      throw RuntimeError(origin + ": " + key + " holds " + std::to_string(x) + " (expected 0.1 to 10)");
    }
  }
}

}  // namespace agegender
