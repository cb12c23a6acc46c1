#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agegender/metrics.hpp"

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
