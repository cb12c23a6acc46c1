#include "agegender/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "agegender/error.hpp"
#include "agegender/share_calibration.hpp"
#include "agegender/utkface.hpp"

namespace agegender {

PredictionSet rebin_years(const PredictionSet& p, const AgeBinning& binning) {
  if (p.year_classes <= 0) {
    throw UsageError("the model has a per-binning classification head (model.age_head bins): it scores only its own "
                     "age groups; train with model.age_head years to score any binning from one run");
  }
  PredictionSet out = p;
  const int k = binning.num_classes(), years = p.year_classes;
  std::vector<int> class_of_year(static_cast<size_t>(years));
  for (int a = 0; a < years; ++a) class_of_year[static_cast<size_t>(a)] = binning.class_of(a);
  out.num_classes = k;
  out.age_probs.assign(p.size() * static_cast<size_t>(k), 0.0f);
  out.loss_sum = p.gender_loss_sum;
  for (size_t i = 0; i < p.size(); ++i) {
    const float* y = &p.year_probs[i * static_cast<size_t>(years)];
    float* row = &out.age_probs[i * static_cast<size_t>(k)];
    for (int a = 0; a < years; ++a) row[class_of_year[static_cast<size_t>(a)]] += y[a];
    out.true_class[i] = binning.class_of(p.true_age[i]);
    out.loss_sum -= std::log(std::max(row[out.true_class[i]], 1e-12f));
  }
  return out;
}

EvalMetrics compute_metrics(const PredictionSet& p, const std::vector<double>& class_mean_age,
                            const std::vector<double>& share_weights, const std::vector<double>& gender_weights) {
  EvalMetrics m;
  m.n = p.size();
  const int k = p.num_classes;
  const bool has_age = k > 0, has_gender = !p.female_prob.empty();
  m.confusion.assign(static_cast<size_t>(k), std::vector<long>(static_cast<size_t>(k), 0));
  m.per_race.assign(kNumRaces, {});
  m.per_gender.assign(2, {});
  m.true_share.assign(static_cast<size_t>(k), 0.0);
  m.argmax_share = m.expected_share = m.true_share;
  const bool calibrate = has_age && share_weights.size() == static_cast<size_t>(k);
  if (calibrate) m.calibrated_share = m.true_share;
  if (m.n == 0) return m;
  m.loss = p.loss_sum / static_cast<double>(m.n);
  long correct = 0, top2 = 0, gender_correct = 0;
  double abs_err = 0;
  const bool calibrate_gender = has_gender && gender_weights.size() == 2;
  if (has_gender) m.female_true = m.female_argmax = m.female_expected = 0;
  if (calibrate_gender) m.female_calibrated = 0;
  for (size_t i = 0; i < m.n; ++i) {
    bool age_ok = false, gender_ok = false;
    if (has_age) {
      const float* row = &p.age_probs[i * static_cast<size_t>(k)];
      // Top-2 by probability; ties resolve to the lower class index, as argmax does.
      int best = 0, second = -1;
      for (int c = 1; c < k; ++c) {
        if (row[c] > row[best]) {
          second = best;
          best = c;
        } else if (second < 0 || row[c] > row[second]) {
          second = c;
        }
      }
      age_ok = best == p.true_class[i];
      correct += age_ok;
      top2 += age_ok || second == p.true_class[i];
      m.confusion[static_cast<size_t>(p.true_class[i])][static_cast<size_t>(best)]++;
      m.true_share[static_cast<size_t>(p.true_class[i])] += 1;
      m.argmax_share[static_cast<size_t>(best)] += 1;
      for (int c = 0; c < k; ++c) m.expected_share[static_cast<size_t>(c)] += row[c];
      if (calibrate) {
        const std::vector<double> q = reweighted(row, k, share_weights);
        for (size_t c = 0; c < q.size(); ++c) m.calibrated_share[c] += q[c];
      }
      double expected_age = 0;
      if (!p.expected_age.empty()) {
        expected_age = p.expected_age[i];
      } else {
        for (int c = 0; c < k; ++c) expected_age += row[c] * class_mean_age[static_cast<size_t>(c)];
      }
      abs_err += std::fabs(expected_age - p.true_age[i]);
    }
    if (has_gender) {
      gender_ok = (p.female_prob[i] >= 0.5f ? 1 : 0) == p.true_gender[i];
      gender_correct += gender_ok;
      m.female_true += p.true_gender[i];
      m.female_argmax += p.female_prob[i] >= 0.5f;
      m.female_expected += p.female_prob[i];
      if (calibrate_gender) m.female_calibrated += reweighted_female(p.female_prob[i], gender_weights);
    }
    for (GroupAccuracy* g : {&m.per_race[static_cast<size_t>(p.true_race[i])], &m.per_gender[static_cast<size_t>(p.true_gender[i])]}) {
      g->n++;
      g->age_accuracy += age_ok;
      g->gender_accuracy += gender_ok;
    }
  }
  const double n = static_cast<double>(m.n);
  m.accuracy = correct / n;
  m.top2_accuracy = top2 / n;
  m.gender_accuracy = gender_correct / n;
  m.age_mae = abs_err / n;
  for (auto* shares : {&m.true_share, &m.argmax_share, &m.expected_share, &m.calibrated_share}) {
    for (double& x : *shares) x /= n;
  }
  m.share_tv_argmax = total_variation(m.argmax_share, m.true_share);
  m.share_tv_expected = total_variation(m.expected_share, m.true_share);
  if (calibrate) m.share_tv_calibrated = total_variation(m.calibrated_share, m.true_share);
  if (has_gender) m.female_true /= n, m.female_argmax /= n, m.female_expected /= n;
  if (calibrate_gender) m.female_calibrated /= n;
  for (auto* groups : {&m.per_race, &m.per_gender}) {
    for (auto& g : *groups) {
      if (g.n > 0) g.age_accuracy /= g.n, g.gender_accuracy /= g.n;
    }
  }
  for (int c = 0; c < k; ++c) {
    long tp = m.confusion[c][c], predicted = 0, actual = 0;
    for (int j = 0; j < k; ++j) {
      predicted += m.confusion[j][c];
      actual += m.confusion[c][j];
    }
    ClassStats s;
    s.support = actual;
    s.precision = predicted ? static_cast<double>(tp) / predicted : 0.0;
    s.recall = actual ? static_cast<double>(tp) / actual : 0.0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0.0;
    m.per_class.push_back(s);
  }
  return m;
}

nlohmann::json metrics_json(const EvalMetrics& m, const std::vector<std::string>& names) {
  nlohmann::json j;
  j["n"] = m.n;
  j["loss"] = m.loss;
  j["accuracy"] = m.accuracy;
  j["top2_accuracy"] = m.top2_accuracy;
  j["gender_accuracy"] = m.gender_accuracy;
  j["age_mae"] = m.age_mae;
  j["class_names"] = names;
  j["confusion_matrix"] = m.confusion;
  j["per_class"] = nlohmann::json::array();  // in class order (an object would sort "13-19" before "3-12")
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const auto& s = m.per_class[c];
    j["per_class"].push_back({{"name", names[c]}, {"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}, {"support", s.support}});
  }
  auto groups = [](const std::vector<GroupAccuracy>& g, auto name_of) {
    nlohmann::json out = nlohmann::json::object();
    for (size_t i = 0; i < g.size(); ++i) {
      if (g[i].n == 0) continue;
      out[name_of(static_cast<int>(i))] = {{"n", g[i].n}, {"accuracy", g[i].age_accuracy}, {"gender_accuracy", g[i].gender_accuracy}};
    }
    return out;
  };
  j["per_race"] = groups(m.per_race, race_name);
  j["per_gender"] = groups(m.per_gender, gender_name);
  if (!names.empty()) {
    j["age_shares"] = {{"true", m.true_share}, {"argmax", m.argmax_share}, {"expected", m.expected_share},
                       {"tv_argmax", m.share_tv_argmax}, {"tv_expected", m.share_tv_expected}};
    if (m.share_tv_calibrated >= 0) {
      j["age_shares"]["calibrated"] = m.calibrated_share;
      j["age_shares"]["tv_calibrated"] = m.share_tv_calibrated;
    }
  }
  if (m.female_true >= 0) {
    j["female_share"] = {{"true", m.female_true}, {"argmax", m.female_argmax}, {"expected", m.female_expected}};
    if (m.female_calibrated >= 0) j["female_share"]["calibrated"] = m.female_calibrated;
  }
  return j;
}

}  // namespace agegender
