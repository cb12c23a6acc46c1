#include <gtest/gtest.h>

#include "agegender/binning.hpp"
#include "agegender/error.hpp"

using agegender::AgeBinning;

TEST(Binning, Bin10EdgesAndNames) {
  const auto b = AgeBinning::bin10();
  EXPECT_EQ(b.num_classes(), 10);
  EXPECT_EQ(b.class_of(0), 0);
  EXPECT_EQ(b.class_of(9), 0);
  EXPECT_EQ(b.class_of(10), 1);
  EXPECT_EQ(b.class_of(89), 8);
  EXPECT_EQ(b.class_of(116), 9);
  EXPECT_EQ(b.class_name(0), "0-9");
  EXPECT_EQ(b.class_name(9), "90+");
}

TEST(Binning, IntuitionLifeStages) {
  const auto b = AgeBinning::intuition();
  const std::vector<std::string> expected = {"0-2", "3-12", "13-19", "20-29", "30-44", "45-59", "60+"};
  EXPECT_EQ(b.class_names(), expected);
  EXPECT_EQ(b.class_of(2), 0);
  EXPECT_EQ(b.class_of(3), 1);
  EXPECT_EQ(b.class_of(19), 2);
  EXPECT_EQ(b.class_of(44), 4);
  EXPECT_EQ(b.class_of(60), 6);
}

TEST(Binning, BalancedUsesGivenAgesAndEqualisesCounts) {
  std::vector<int> ages;
  for (int a = 0; a < 100; ++a) ages.insert(ages.end(), 10, a);  // uniform 0..99, 1000 images
  const auto b = AgeBinning::balanced(ages, 5);
  ASSERT_EQ(b.num_classes(), 5);
  std::vector<int> counts(5, 0);
  for (int a : ages) counts[static_cast<size_t>(b.class_of(a))]++;
  for (int c : counts) EXPECT_EQ(c, 200);
  EXPECT_EQ(b.edges(), (std::vector<int>{0, 20, 40, 60, 80}));
  EXPECT_EQ(b.strategy(), "balanced");
}

TEST(Binning, BalancedDependsOnlyOnTrainAges) {
  // Skewed train ages (mostly young) must give low edges whatever the other splits hold.
  std::vector<int> train;
  for (int i = 0; i < 700; ++i) train.push_back(i % 30);
  for (int i = 0; i < 300; ++i) train.push_back(30 + i % 60);
  const auto b = AgeBinning::balanced(train, 4);  // 250 a bin: about 11 young ages, then 30..39
  EXPECT_LE(b.edges()[1], 11);
  EXPECT_LE(b.edges()[3], 40);
  std::vector<int> older = train;  // a different split with many old faces would move the edges
  older.insert(older.end(), 2000, 80);
  EXPECT_NE(AgeBinning::balanced(older, 4).edges(), b.edges());
}

TEST(Binning, BalancedSkewedHistogramKeepsEveryClassNonEmpty) {
  std::vector<int> ages(500, 26);  // one dominant age
  for (int a = 0; a < 90; ++a) ages.push_back(a);
  const auto b = AgeBinning::balanced(ages, 7);
  std::vector<int> counts(static_cast<size_t>(b.num_classes()), 0);
  for (int a : ages) counts[static_cast<size_t>(b.class_of(a))]++;
  for (int c : counts) EXPECT_GT(c, 0);
}

TEST(Binning, CustomEdgesValidated) {
  const AgeBinning b({0, 5, 18, 65});
  EXPECT_EQ(b.class_names(), (std::vector<std::string>{"0-4", "5-17", "18-64", "65+"}));
  EXPECT_EQ(AgeBinning({0, 1, 2}).class_name(0), "0");
  EXPECT_THROW(AgeBinning({5, 10}), agegender::UsageError);
  EXPECT_THROW(AgeBinning({0, 10, 10}), agegender::UsageError);
  EXPECT_THROW(AgeBinning({0, 200}), agegender::UsageError);
  EXPECT_THROW(AgeBinning::by_name("decades"), agegender::UsageError);
  EXPECT_THROW(AgeBinning::balanced({}, 7), agegender::UsageError);
}
