#include <gtest/gtest.h>

#include "train/batch_loader.hpp"

using namespace agegender;

namespace {

SplitData make_split(int64_t n, int64_t side) {
  torch::manual_seed(1);
  return {torch::randint(0, 256, {n, 3, side, side}).to(torch::kUInt8), torch::arange(n), torch::zeros({n}, torch::kLong),
          torch::zeros({n}, torch::kLong), torch::arange(n)};
}

std::vector<Batch> epoch(const SplitData& d, const AugmentConfig* aug, int e, bool shuffle = true) {
  BatchLoader loader(d, 8, shuffle, aug, 7, e, Normalization::plain(3));
  std::vector<Batch> out;
  Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

}  // namespace

TEST(BatchLoader, PlainBatchesAreNormalisedImagesInOrder) {
  const auto d = make_split(20, 6);
  const auto batches = epoch(d, nullptr, 1, /*shuffle=*/false);
  ASSERT_EQ(batches.size(), 3u);  // 8 + 8 + 4
  EXPECT_EQ(batches[2].x.size(0), 4);
  const auto expected = (d.images.narrow(0, 8, 8).to(torch::kFloat) / 255.0 - 0.5) / 0.25;
  EXPECT_TRUE(torch::allclose(batches[1].x, expected, 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(batches[1].age_class, torch::arange(8, 16)));
}

TEST(BatchLoader, ShuffleAndAugmentationDependOnSeedAndEpochOnly) {
  const auto d = make_split(40, 8);
  AugmentConfig aug;
  const auto a = epoch(d, &aug, 3), b = epoch(d, &aug, 3), c = epoch(d, &aug, 4);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i].x, b[i].x));
    EXPECT_TRUE(torch::equal(a[i].age_class, b[i].age_class));
  }
  EXPECT_FALSE(torch::equal(a[0].age_class, c[0].age_class));
  std::vector<int64_t> seen;
  for (const auto& batch : a) {
    for (int64_t i = 0; i < batch.age_class.size(0); ++i) seen.push_back(batch.age_class[i].item<int64_t>());
  }
  std::sort(seen.begin(), seen.end());
  for (int64_t i = 0; i < 40; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);  // each image once per epoch
}

TEST(BatchLoader, FlipOnlyAugmentationGivesOriginalOrMirror) {
  const auto d = make_split(16, 5);
  AugmentConfig aug;
  aug.shift = aug.brightness = aug.contrast = 0;
  int flipped = 0;
  for (const auto& batch : epoch(d, &aug, 1)) {
    for (int64_t i = 0; i < batch.x.size(0); ++i) {
      const auto orig = (d.images[batch.age_class[i].item<int64_t>()].to(torch::kFloat) / 255.0 - 0.5) / 0.25;
      const bool same = torch::allclose(batch.x[i], orig, 1e-5, 1e-5);
      const bool mirror = torch::allclose(batch.x[i], orig.flip({2}), 1e-5, 1e-5);
      EXPECT_TRUE(same || mirror);
      flipped += mirror && !same;
    }
  }
  EXPECT_GT(flipped, 2);
  EXPECT_LT(flipped, 14);
}
