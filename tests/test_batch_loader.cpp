#include <gtest/gtest.h>

#include "model/batch_loader.hpp"

using namespace agegender;

namespace {

// A split over in-memory source images; `images` is the same pixels as NCHW for expectations.
struct TestSplit : SplitData {
  torch::Tensor images;
};

TestSplit make_split(int64_t n, int64_t side) {
  torch::manual_seed(1);
  TestSplit d;
  d.images = torch::randint(0, 256, {n, 3, side, side}).to(torch::kUInt8);
  auto hwc = std::make_shared<torch::Tensor>(d.images.permute({0, 2, 3, 1}).contiguous());
  const size_t bytes = static_cast<size_t>(side * side * 3);
  d.source_size = static_cast<int>(side);
  d.image = [hwc, bytes](size_t row) { return hwc->data_ptr<uint8_t>() + row * bytes; };
  for (int64_t i = 0; i < n; ++i) d.rows.push_back(static_cast<size_t>(i));
  d.age_class = torch::arange(n);
  d.gender = torch::zeros({n}, torch::kLong);
  d.race = torch::zeros({n}, torch::kLong);
  d.age = torch::arange(n);
  return d;
}

ModelInput input_for(const SplitData& d) {
  ModelInput in;
  in.size = in.source_size = d.source_size;
  return in;
}

std::vector<Batch> epoch(const SplitData& d, const AugmentConfig* aug, int e, bool shuffle = true) {
  BatchLoader loader(d, input_for(d), 8, shuffle, aug, 7, e);
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

// Each image is either untouched or exactly the original brought down to one side in downscale_min..15 and
// back up (noise images lose most of their variance that way); the probability is honoured.
TEST(BatchLoader, DownscaleGivesTheImageAtALowerResolution) {
  const int64_t side = 16;
  const auto d = make_split(64, side);
  AugmentConfig aug;
  aug.hflip = false, aug.shift = aug.brightness = aug.contrast = 0;
  aug.downscale = 0.5, aug.downscale_min = 4;
  EXPECT_EQ(augment_needing_pixels(aug), "train.augment.downscale = 0.500000");
  int degraded = 0;
  for (const auto& batch : epoch(d, &aug, 3)) {
    for (int64_t i = 0; i < batch.x.size(0); ++i) {
      const auto orig = d.images[batch.age_class[i].item<int64_t>()].contiguous();
      const auto got = (batch.x[i] * 0.25 + 0.5).mul(255).round().to(torch::kUInt8);
      if (torch::equal(got, orig)) continue;
      bool matched = false;
      for (int low = aug.downscale_min; low < side && !matched; ++low) {
        auto expected = orig.clone();
        degrade_resolution(expected.data_ptr<uint8_t>(), 3, static_cast<int>(side), low);
        matched = torch::equal(got, expected);
      }
      EXPECT_TRUE(matched) << "sample " << i << " is neither the image nor a lower resolution of it";
      EXPECT_LT(got.to(torch::kFloat).std().item<float>(), 0.8f * orig.to(torch::kFloat).std().item<float>());
      ++degraded;
    }
  }
  EXPECT_GT(degraded, 16);
  EXPECT_LT(degraded, 48);
}

TEST(Preprocess, DegradeResolutionKeepsFlatImagesAndFlattensFineDetail) {
  std::vector<uint8_t> flat(3 * 20 * 20, 77);
  degrade_resolution(flat.data(), 3, 20, 5);
  for (uint8_t v : flat) ASSERT_EQ(v, 77);
  std::vector<uint8_t> checker(20 * 20);
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 20; ++x) checker[static_cast<size_t>(y * 20 + x)] = (x + y) % 2 ? 200 : 0;
  }
  degrade_resolution(checker.data(), 1, 20, 10);  // 2x2 blocks of a 1-pixel checkerboard average to 100
  for (uint8_t v : checker) ASSERT_EQ(v, 100);
}

// The GPU path's raw loader + DeviceAugment gives the CPU loader's batches (run here on the CPU).
TEST(BatchLoader, RawBatchesAugmentedAsTensorsMatchTheCpuLoader) {
  const auto d = make_split(21, 12);
  AugmentConfig aug;
  aug.hflip = true, aug.shift = 0.2, aug.brightness = 0.3, aug.contrast = 0.4;
  aug.downscale = 0.5, aug.downscale_min = 4;
  ModelInput in = input_for(d);
  in.norm = {{0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f}};
  for (const bool augment : {true, false}) {
    BatchLoader cpu(d, in, 8, true, augment ? &aug : nullptr, 7, 2);
    BatchLoader raw(d, in, 8, true, augment ? &aug : nullptr, 7, 2, 3, LoaderOutput{/*raw=*/true, /*pinned=*/false});
    const DeviceAugment on_device(in.norm, torch::kCPU, augment);
    Batch a, b;
    int batches = 0;
    while (cpu.next(a)) {
      ASSERT_TRUE(raw.next(b));
      ASSERT_EQ(b.x.scalar_type(), torch::kByte);
      ASSERT_EQ(b.draws.sizes(), (std::vector<int64_t>{a.x.size(0), 5}));
      const auto x = on_device(b.x, b.draws);
      EXPECT_LT((x - a.x).abs().max().item<float>(), 2e-5) << "batch " << batches << (augment ? " augmented" : " plain");
      EXPECT_TRUE(torch::equal(a.age_class, b.age_class));
      ++batches;
    }
    EXPECT_FALSE(raw.next(b));
    EXPECT_EQ(batches, 3);
  }
}
