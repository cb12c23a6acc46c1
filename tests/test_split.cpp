#include <gtest/gtest.h>

#include <map>

#include "agegender/binning.hpp"
#include "agegender/error.hpp"
#include "agegender/split.hpp"

using namespace agegender;

namespace {

std::vector<FaceLabel> make_labels(size_t n) {
  std::vector<FaceLabel> labels;
  for (size_t i = 0; i < n; ++i) labels.push_back({static_cast<int>((i * 7) % 90), static_cast<int>(i % 2), 0});
  return labels;
}

std::vector<std::vector<size_t>> singletons(size_t n) {
  std::vector<std::vector<size_t>> u;
  for (size_t i = 0; i < n; ++i) u.push_back({i});
  return u;
}

}  // namespace

TEST(Split, ParsesFractions) {
  const auto f = SplitFractions::parse("0.7,0.2,0.1");
  EXPECT_DOUBLE_EQ(f.train, 0.7);
  EXPECT_DOUBLE_EQ(f.test, 0.1);
  EXPECT_NO_THROW(SplitFractions::parse("0,0,1"));
  EXPECT_THROW(SplitFractions::parse("0.5,0.5"), UsageError);
  EXPECT_THROW(SplitFractions::parse("0.5,0.6,0.1"), UsageError);
  EXPECT_THROW(SplitFractions::parse("a,0.5,0.5"), UsageError);
  EXPECT_THROW(SplitFractions::parse("-0.5,1.0,0.5"), UsageError);
}

TEST(Split, FollowsFractionsWithinEveryStratum) {
  const auto labels = make_labels(5000);
  const auto s = stratified_split(labels, singletons(labels.size()), {0.8, 0.1, 0.1}, 42);
  std::map<int, std::array<int, 3>> per;
  const auto bins = AgeBinning::intuition();
  for (size_t i = 0; i < labels.size(); ++i) per[bins.class_of(labels[i].age) * 2 + labels[i].gender][static_cast<int>(s[i])]++;
  for (const auto& [stratum, c] : per) {
    const double n = c[0] + c[1] + c[2];
    EXPECT_NEAR(c[0] / n, 0.8, 1.0 / n + 1e-9) << "stratum " << stratum;
    EXPECT_NEAR(c[1] / n, 0.1, 1.0 / n + 1e-9) << "stratum " << stratum;
  }
}

TEST(Split, DeterministicForSeedAndDifferentAcrossSeeds) {
  const auto labels = make_labels(1000);
  const auto a = stratified_split(labels, singletons(1000), {0.8, 0.1, 0.1}, 7);
  const auto b = stratified_split(labels, singletons(1000), {0.8, 0.1, 0.1}, 7);
  const auto c = stratified_split(labels, singletons(1000), {0.8, 0.1, 0.1}, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Split, DuplicateGroupsStayTogether) {
  const auto labels = make_labels(600);
  std::vector<std::vector<size_t>> units;
  for (size_t i = 0; i < 600; i += 3) units.push_back({i, i + 1, i + 2});  // every unit a triple
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const auto s = stratified_split(labels, units, {0.6, 0.2, 0.2}, seed);
    for (const auto& u : units) {
      EXPECT_EQ(s[u[0]], s[u[1]]);
      EXPECT_EQ(s[u[0]], s[u[2]]);
    }
  }
}

TEST(Split, ZeroFractionsAreRespected) {
  const auto labels = make_labels(300);
  for (Split x : stratified_split(labels, singletons(300), {0, 0, 1}, 1)) EXPECT_EQ(x, Split::Test);
  for (Split x : stratified_split(labels, singletons(300), {0.5, 0, 0.5}, 1)) EXPECT_NE(x, Split::Val);
}

TEST(Split, Names) {
  EXPECT_EQ(parse_split("val"), Split::Val);
  EXPECT_STREQ(split_name(Split::Test), "test");
  EXPECT_THROW(parse_split("dev"), UsageError);
}
