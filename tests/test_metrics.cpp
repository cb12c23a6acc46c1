#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "agegender/age_calibration.hpp"
#include "agegender/error.hpp"
#include "agegender/metrics.hpp"
#include "agegender/share_calibration.hpp"

using namespace agegender;

// Four images, three classes; every number below is worked out by hand.
TEST(Metrics, MatchHandComputedValues) {
  PredictionSet p;
  p.num_classes = 3;
  p.age_probs = {0.7f, 0.2f, 0.1f,   // true 0, predicted 0
                 0.5f, 0.4f, 0.1f,   // true 1, predicted 0, top-2 hit
                 0.1f, 0.3f, 0.6f,   // true 2, predicted 2
                 0.2f, 0.5f, 0.3f};  // true 0, predicted 1, not in top 2
  p.female_prob = {0.9f, 0.2f, 0.6f, 0.4f};
  p.true_class = {0, 1, 2, 0};
  p.true_gender = {1, 0, 0, 0};  // gender correct: yes, yes, no, yes
  p.true_race = {0, 0, 1, 1};
  p.true_age = {5, 30, 70, 10};
  p.loss_sum = 4.0;
  const std::vector<double> mean_age = {10, 30, 70};
  const EvalMetrics m = compute_metrics(p, mean_age);
  EXPECT_EQ(m.n, 4u);
  EXPECT_DOUBLE_EQ(m.loss, 1.0);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.top2_accuracy, 0.75);
  EXPECT_DOUBLE_EQ(m.gender_accuracy, 0.75);
  // Expected ages: 20, 24, 52, 38 -> |err| 15, 6, 18, 28 -> MAE 16.75
  EXPECT_NEAR(m.age_mae, 16.75, 1e-4);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<long>>{{1, 1, 0}, {1, 0, 0}, {0, 0, 1}}));
  // Class 0: TP 1, predicted 2, actual 2 -> P = R = F1 = 0.5. Class 1: TP 0. Class 2: P = R = 1.
  EXPECT_DOUBLE_EQ(m.per_class[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[0].recall, 0.5);
  EXPECT_DOUBLE_EQ(m.per_class[0].f1, 0.5);
  EXPECT_EQ(m.per_class[0].support, 2);
  EXPECT_DOUBLE_EQ(m.per_class[1].f1, 0.0);
  EXPECT_DOUBLE_EQ(m.per_class[2].f1, 1.0);
  EXPECT_EQ(m.per_race[0].n, 2);
  EXPECT_DOUBLE_EQ(m.per_race[0].age_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.per_race[1].age_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.per_race[1].gender_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.per_gender[0].age_accuracy, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.per_gender[1].age_accuracy, 1.0);

  // Shares: true {2, 1, 1} / 4, argmax {2, 1, 1} / 4, expected = column means {1.5, 1.4, 1.1} / 4 ->
  // TV 0.5 * (0.125 + 0.1 + 0.025) = 0.125. Female: true 1 / 4, argmax 2 / 4, expected 2.1 / 4.
  EXPECT_EQ(m.true_share, (std::vector<double>{0.5, 0.25, 0.25}));
  EXPECT_EQ(m.argmax_share, (std::vector<double>{0.5, 0.25, 0.25}));
  EXPECT_NEAR(m.expected_share[0], 0.375, 1e-6);
  EXPECT_NEAR(m.expected_share[1], 0.35, 1e-6);
  EXPECT_NEAR(m.expected_share[2], 0.275, 1e-6);
  EXPECT_DOUBLE_EQ(m.share_tv_argmax, 0.0);
  EXPECT_NEAR(m.share_tv_expected, 0.125, 1e-6);
  EXPECT_DOUBLE_EQ(m.female_true, 0.25);
  EXPECT_DOUBLE_EQ(m.female_argmax, 0.5);
  EXPECT_NEAR(m.female_expected, 0.525, 1e-6);

  const auto j = metrics_json(m, {"0-9", "10-49", "50+"});
  EXPECT_NEAR(j["age_shares"]["tv_expected"].get<double>(), 0.125, 1e-6);
  EXPECT_DOUBLE_EQ(j["female_share"]["argmax"].get<double>(), 0.5);
  EXPECT_EQ(j["per_class"][2]["name"], "50+");
  EXPECT_DOUBLE_EQ(j["per_class"][2]["f1"].get<double>(), 1.0);
  EXPECT_EQ(j["per_race"]["Black"]["n"], 2);
  EXPECT_EQ(j["per_gender"]["female"]["n"], 1);
  EXPECT_EQ(j["confusion_matrix"][0][1], 1);
}

TEST(Metrics, GenderOnlyModelAndEmptySet) {
  PredictionSet p;
  p.female_prob = {0.2f, 0.8f};
  p.true_class = {0, 0};
  p.true_gender = {0, 0};
  p.true_race = {2, 2};
  p.true_age = {20, 30};
  const auto m = compute_metrics(p, {});
  EXPECT_DOUBLE_EQ(m.gender_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.0);
  EXPECT_TRUE(m.confusion.empty());
  EXPECT_DOUBLE_EQ(m.female_true, 0.0);
  EXPECT_NEAR(m.female_expected, 0.5, 1e-6);
  EXPECT_FALSE(metrics_json(m, {}).contains("age_shares"));
  EXPECT_DOUBLE_EQ(compute_metrics(PredictionSet{}, {}).female_true, -1.0);
  EXPECT_EQ(compute_metrics(PredictionSet{}, {}).n, 0u);
}

// A model that spreads class 0 into class 1 (as LDL smoothing spreads 0-2 year olds into 3-12): the
// fitted weights restore the true shares on the rows they were fitted on; eval's calibrated shares use them.
TEST(ShareCalibration, WeightsUndoAClassBias) {
  auto biased = [](int true_class) -> std::vector<float> {
    switch (true_class) {
      case 0: return {0.5f, 0.4f, 0.1f};
      case 1: return {0.1f, 0.8f, 0.1f};
      default: return {0.05f, 0.15f, 0.8f};
    }
  };
  PredictionSet p;
  p.num_classes = 3;
  for (int i = 0; i < 20; ++i) {
    const int c = i < 4 ? 0 : i < 12 ? 1 : 2;  // shares 0.2, 0.4, 0.4
    const auto row = biased(c);
    p.age_probs.insert(p.age_probs.end(), row.begin(), row.end());
    p.true_class.push_back(c), p.true_gender.push_back(0), p.true_race.push_back(0), p.true_age.push_back(10 * c);
  }
  const EvalMetrics raw = compute_metrics(p, {0, 10, 20});
  const std::vector<double> w = fit_share_weights(p.age_probs, 3, raw.true_share);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_GT(w[0], w[1]) << "class 0 is under-found, so its probabilities are weighted up";
  EXPECT_NEAR(std::log(w[0]) + std::log(w[1]) + std::log(w[2]), 0.0, 1e-9);
  const EvalMetrics cal = compute_metrics(p, {0, 10, 20}, w);
  ASSERT_EQ(cal.calibrated_share.size(), 3u);
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(cal.calibrated_share[c], raw.true_share[c], 1e-4);
  EXPECT_GT(raw.share_tv_expected, 0.05);
  EXPECT_LT(cal.share_tv_calibrated, 1e-4);
  EXPECT_EQ(cal.expected_share, raw.expected_share) << "the raw expected shares stay as they are";
  EXPECT_DOUBLE_EQ(raw.share_tv_calibrated, -1.0);
  EXPECT_FALSE(metrics_json(raw, {"a", "b", "c"})["age_shares"].contains("calibrated"));
  EXPECT_TRUE(metrics_json(cal, {"a", "b", "c"})["age_shares"].contains("tv_calibrated"));

  // Reweighting one row: p_c w_c / sum.
  const float row[3] = {0.5f, 0.25f, 0.25f};
  const auto q = reweighted(row, 3, {2.0, 1.0, 1.0});
  EXPECT_NEAR(q[0], 1.0 / 1.5, 1e-6);
  EXPECT_NEAR(q[1], 0.25 / 1.5, 1e-6);
  EXPECT_EQ(reweighted(row, 3, {}), (std::vector<double>{0.5, 0.25, 0.25}));
  EXPECT_TRUE(fit_share_weights({}, 3, {0.2, 0.4, 0.4}).empty());
  // The joint fit: the same age weights, and a warning for a group without faces.
  const std::vector<double> joint = fit_share_calibrations(p, {"a", "b", "c"}).age;
  ASSERT_EQ(joint.size(), w.size());
  for (size_t c = 0; c < w.size(); ++c) EXPECT_NEAR(joint[c], w[c], 1e-9);
  PredictionSet no_c = p;
  std::replace(no_c.true_class.begin(), no_c.true_class.end(), 2, 1);
  const ShareCalibrations missing = fit_share_calibrations(no_c, {"a", "b", "c"});
  ASSERT_EQ(missing.warnings.size(), 1u);
  EXPECT_NE(missing.warnings[0].find("no 'c' face"), std::string::npos) << missing.warnings[0];
}

// A gender head that under-finds women (P(female) pulled down) gets a female weight above the male one;
// the calibrated mean P(female) is then the true share, and answers (argmax) are left alone.
TEST(ShareCalibration, GenderWeightsUndoAHeadThatUnderFindsWomen) {
  PredictionSet p;
  for (int i = 0; i < 40; ++i) {
    const int female = i % 5 < 2;  // 40 % women
    p.female_prob.push_back(female ? (i % 3 ? 0.7f : 0.4f) : 0.15f);
    p.true_class.push_back(0), p.true_gender.push_back(female), p.true_race.push_back(0), p.true_age.push_back(30);
  }
  const EvalMetrics raw = compute_metrics(p, {});
  EXPECT_NEAR(raw.female_true, 0.4, 1e-12);
  EXPECT_LT(raw.female_expected, 0.35);
  const std::vector<double> w = fit_gender_share_weights(p.female_prob, raw.female_true);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_GT(w[1], w[0]);
  EXPECT_NEAR(std::log(w[0]) + std::log(w[1]), 0.0, 1e-9);
  const EvalMetrics cal = compute_metrics(p, {}, {}, w);
  EXPECT_NEAR(cal.female_calibrated, 0.4, 1e-6);
  EXPECT_DOUBLE_EQ(raw.female_calibrated, -1.0);
  EXPECT_FALSE(metrics_json(raw, {})["female_share"].contains("calibrated"));
  EXPECT_NEAR(metrics_json(cal, {})["female_share"]["calibrated"].get<double>(), 0.4, 1e-6);
  // One probability: p w_f / (p w_f + (1 - p) w_m); itself without (or with malformed) weights.
  EXPECT_NEAR(reweighted_female(0.5f, {1.0, 3.0}), 0.75, 1e-6);
  EXPECT_FLOAT_EQ(static_cast<float>(reweighted_female(0.3f, {})), 0.3f);
  EXPECT_FLOAT_EQ(static_cast<float>(reweighted_female(0.3f, {2.0})), 0.3f);
  EXPECT_EQ(gender_rows({0.25f}), (std::vector<float>{0.75f, 0.25f}));
  // One gender only: nothing to fit (the weights would run to the clamp), and the joint fit says so.
  EXPECT_TRUE(fit_gender_share_weights(p.female_prob, 0.0).empty());
  EXPECT_TRUE(fit_gender_share_weights(p.female_prob, 1.0).empty());
  const ShareCalibrations both = fit_share_calibrations(p, {});
  ASSERT_EQ(both.gender.size(), 2u);
  EXPECT_NEAR(both.gender[1] / both.gender[0], w[1] / w[0], 1e-9);
  EXPECT_TRUE(both.age.empty()) << "no age head";
  EXPECT_TRUE(both.warnings.empty());
  EXPECT_EQ(share_calibrations_json(both, {}, true)["gender_share_weights"]["female"].get<double>(), both.gender[1]);
  EXPECT_FALSE(share_calibrations_json(both, {}, false).contains("age_share_weights"));
  PredictionSet men = p;
  std::fill(men.true_gender.begin(), men.true_gender.end(), 0);
  const ShareCalibrations none = fit_share_calibrations(men, {});
  EXPECT_TRUE(none.gender.empty());
  ASSERT_EQ(none.warnings.size(), 1u);
  EXPECT_NE(none.warnings[0].find("only men"), std::string::npos) << none.warnings[0];
  EXPECT_TRUE(share_calibrations_json(none, {}, false).empty());
}

TEST(ShareCalibration, BadWeightsInACheckpointAreNamed) {
  EXPECT_NO_THROW(validate_share_weights({}, 7, "m.safetensors"));
  EXPECT_NO_THROW(validate_share_weights({1.0, 0.5}, 2, "m.safetensors"));
  try {
    validate_share_weights({1.0, 0.5}, 3, "m.safetensors");
    FAIL() << "size mismatch accepted";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("m.safetensors: age_share_weights has 2 values for 3 age groups"), std::string::npos);
  }
  try {
    validate_share_weights({1.0, 20.0}, 2, "m.safetensors", "gender_share_weights");
    FAIL() << "weight 20 accepted";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("m.safetensors: gender_share_weights holds 20"), std::string::npos) << e.what();
  }
  EXPECT_THROW(validate_share_weights({1.0, std::nan("")}, 2, "m"), RuntimeError);
  EXPECT_THROW(validate_share_weights({1.0, 50.0}, 2, "m"), RuntimeError);
}

// A year head's mean age regresses to the middle: simulate that with the inverse of a known stretch and
// check the fit undoes it (and applies it the same way to one age and to a whole set).
TEST(AgeCalibration, FitUndoesARegressionToTheMiddle) {
  const AgeCalibration truth{1.1, -0.35};
  std::vector<float> predicted;
  std::vector<int> true_age;
  for (int i = 0; i < 2000; ++i) {
    const int age = i % 91;
    // predicted = truth^-1(age), with an even +-3 % error in ln(1 + age) so the L1 line is the truth.
    const double noise = (i % 3 - 1) * 0.03;
    predicted.push_back(static_cast<float>(std::expm1((std::log1p(age) + noise - truth.shift) / truth.scale)));
    true_age.push_back(age);
  }
  const auto fitted = fit_age_calibration(predicted, true_age);
  ASSERT_TRUE(fitted.has_value());
  const AgeCalibration fit = *fitted;
  EXPECT_NEAR(fit.scale, truth.scale, 0.01);
  EXPECT_NEAR(fit.shift, truth.shift, 0.03);
  std::vector<float> ages = {predicted[70], predicted[2]};
  fit.apply_all(ages);
  EXPECT_NEAR(ages[0], 70, 1.0);  // a 70-year-old moved up from 65 ...
  EXPECT_LT(predicted[70], 66.0f);
  EXPECT_NEAR(ages[1], 2, 0.3);   // ... and a 2-year-old down from 2.8
  EXPECT_GT(predicted[2], 2.5f);
  const double x = predicted[70];
  EXPECT_NEAR(fit.apply(x), std::expm1(fit.scale * std::log1p(x) + fit.shift), 1e-9);
  EXPECT_EQ(fit.to_json(), nlohmann::json::array({fit.scale, fit.shift}));
  for (double a : {0.5, 3.0, 40.0, 90.0}) EXPECT_NEAR(fit.invert(fit.apply(a)), a, 1e-9);
  // Clamped to the year head's 0..116: a stretch never reports a negative age or one past 116.
  EXPECT_DOUBLE_EQ(fit.apply(0.0), 0.0);
  EXPECT_DOUBLE_EQ(fit.apply(116.0), 116.0);
  EXPECT_GT(fit.apply(110.0), 110.0);
}

TEST(AgeCalibration, SetsItCannotBeFittedOnAreRefusedWithAReason) {
  std::vector<float> perfect;
  std::vector<int> ages;
  for (int a = 0; a < 80; ++a) perfect.push_back(static_cast<float>(a)), ages.push_back(a);
  const auto exact = fit_age_calibration(perfect, ages);
  ASSERT_TRUE(exact.has_value());
  EXPECT_NEAR(exact->scale, 1.0, 1e-6);
  EXPECT_NEAR(exact->shift, 0.0, 1e-6);
  std::string why;
  EXPECT_FALSE(fit_age_calibration({1, 2, 3}, {1, 2, 3}, &why).has_value());
  EXPECT_EQ(why, "3 labelled faces (at least 50 needed)");
  EXPECT_FALSE(fit_age_calibration(std::vector<float>(60, 30.0f), std::vector<int>(60, 30), &why).has_value());
  EXPECT_EQ(why, "the model gives every face the same age");
  // A model that answers the reverse of the truth would need a negative scale: out of range.
  std::vector<float> reversed;
  for (int a = 0; a < 80; ++a) reversed.push_back(static_cast<float>(80 - a));
  EXPECT_FALSE(fit_age_calibration(reversed, ages, &why).has_value());
  EXPECT_NE(why.find("outside scale 0.5 to 2"), std::string::npos) << why;
  std::vector<float> untouched = {3.5f, 70.0f};
  AgeCalibration{}.apply_all(untouched);
  EXPECT_EQ(untouched, (std::vector<float>{3.5f, 70.0f}));
  EXPECT_DOUBLE_EQ(AgeCalibration{}.invert(3.5), 3.5);
}

TEST(AgeCalibration, BadValuesInACheckpointAreNamed) {
  EXPECT_TRUE(age_calibration_from_json(nlohmann::json::object(), "m.safetensors").identity());
  const AgeCalibration c = age_calibration_from_json({{"age_calibration", {1.08, -0.3}}}, "m.safetensors");
  EXPECT_DOUBLE_EQ(c.scale, 1.08);
  EXPECT_DOUBLE_EQ(c.shift, -0.3);
  for (const auto& bad : {nlohmann::json("1.1"), nlohmann::json({1.1}), nlohmann::json({1.1, "x"}), nlohmann::json({5.0, 0.0}),
                          nlohmann::json({1.0, -4.0})}) {
    try {
      age_calibration_from_json({{"age_calibration", bad}}, "m.safetensors");
      FAIL() << bad.dump() << " accepted";
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("m.safetensors: age_calibration is " + bad.dump()), std::string::npos) << e.what();
    }
  }
}
