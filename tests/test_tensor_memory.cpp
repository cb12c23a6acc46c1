// The block cache that serves LibTorch's large tensors in long runs, the tensor allocator over it, and the
// power-of-two face batches that keep the number of tensor sizes small.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "agegender/batch_split.hpp"
#include "agegender/block_cache.hpp"
#include "agegender/tensor_memory.hpp"

using namespace agegender;

namespace {
constexpr size_t kMiB = 1 << 20;
}

TEST(BlockCache, SizeClassesWasteAtMostAnEighthAndArePageMultiples) {
  BlockCache cache;
  for (size_t bytes : {size_t{256} << 10, size_t{300000}, size_t{1} << 20, size_t{1048577}, size_t{15008832}, size_t{60035328}}) {
    const size_t c = cache.size_class(bytes);
    EXPECT_GE(c, bytes);
    EXPECT_LE(c - bytes, bytes / 8 + 4096) << bytes;
    EXPECT_EQ(c % 4096, 0u) << bytes;
  }
  EXPECT_EQ(cache.size_class(size_t{1} << 20), size_t{1} << 20);  // exact powers of two waste nothing
}

TEST(BlockCache, SmallRequestsAreLeftToMalloc) {
  BlockCache cache;
  EXPECT_EQ(cache.take(1000), nullptr);
  EXPECT_EQ(cache.take((256 << 10) - 1), nullptr);
  EXPECT_EQ(cache.stats().misses, 0u);
}

TEST(BlockCache, AFreedBlockServesTheNextRequestOfItsClass) {
  BlockCache cache;
  auto* a = static_cast<char*>(cache.take(3 * kMiB));
  ASSERT_NE(a, nullptr);
  std::memset(a, 7, 3 * kMiB);  // the whole block is usable
  EXPECT_TRUE(cache.give(a));
  void* b = cache.take(3 * kMiB - 100);  // same class
  EXPECT_EQ(b, a);
  void* c = cache.take(5 * kMiB);  // another class: a new mapping
  EXPECT_NE(c, a);
  const BlockCacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.live_bytes, cache.size_class(3 * kMiB) + cache.size_class(5 * kMiB));
  EXPECT_TRUE(cache.give(b));
  EXPECT_TRUE(cache.give(c));
  EXPECT_EQ(cache.stats().live_bytes, 0u);
}

TEST(BlockCache, RefusesPointersItDidNotHandOut) {
  BlockCache cache;
  int local = 0;
  EXPECT_FALSE(cache.give(&local));
  EXPECT_FALSE(cache.give(nullptr));
  void* p = cache.take(kMiB);
  EXPECT_TRUE(cache.give(p));
  EXPECT_FALSE(cache.give(p));  // twice: no longer live
}

TEST(BlockCache, KeepsAtMostMaxCachedBytesOldestGivenBackFirst) {
  BlockCacheOptions o;
  o.max_cached_bytes = 2 * kMiB;
  BlockCache cache(o);
  void* a = cache.take(kMiB);
  void* b = cache.take(kMiB);
  void* c = cache.take(kMiB);
  cache.give(a);
  cache.give(b);
  cache.give(c);  // three cached MiB > 2: a, the oldest, goes back to the kernel
  BlockCacheStats s = cache.stats();
  EXPECT_EQ(s.cached_bytes, 2 * kMiB);
  EXPECT_EQ(s.released, 1u);
  EXPECT_EQ(s.peak_mapped_bytes, 3 * kMiB);
  // The two kept are the newest: taking them is a hit, the third take a new mapping.
  cache.take(kMiB);
  cache.take(kMiB);
  cache.take(kMiB);
  s = cache.stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 4u);
}

TEST(BlockCache, GivesBackBlocksIdleLongerThanKeepSeconds) {
  BlockCacheOptions o;
  o.keep_seconds = 5;
  BlockCache cache(o);
  void* a = cache.take(2 * kMiB);
  cache.give(a);
  cache.release_idle(BlockCache::Clock::now());  // just freed: kept
  EXPECT_EQ(cache.stats().cached_bytes, 2 * kMiB);
  cache.release_idle(BlockCache::Clock::now() + std::chrono::seconds(6));
  EXPECT_EQ(cache.stats().cached_bytes, 0u);
  EXPECT_EQ(cache.stats().released, 1u);
}

TEST(BlockCache, ThreadsTakeAndGiveConcurrently) {
  BlockCache cache;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 200; ++i) {
        const size_t bytes = (1 + (i + t) % 5) * kMiB / 2;
        auto* p = static_cast<unsigned char*>(cache.take(bytes));
        p[0] = p[bytes - 1] = static_cast<unsigned char>(i);
        ASSERT_TRUE(cache.give(p));
      }
    });
  }
  for (auto& th : threads) th.join();
  const BlockCacheStats s = cache.stats();
  EXPECT_EQ(s.live_bytes, 0u);
  EXPECT_EQ(s.hits + s.misses, 800u);
  EXPECT_GT(s.hits, 700u);  // five sizes: after the first few takes, blocks are reused
}

TEST(BlockCache, RefusesNonsenseClassSteps) {
  BlockCacheOptions o;
  o.class_steps = 0;
  EXPECT_THROW(BlockCache{o}, std::invalid_argument);
}

TEST(PowerOfTwoBatches, FullBatchesThenTheRestInPowersOfTwo) {
  using V = std::vector<size_t>;
  EXPECT_EQ(power_of_two_batches(0, 16), V{});
  EXPECT_EQ(power_of_two_batches(13, 16), (V{8, 4, 1}));
  EXPECT_EQ(power_of_two_batches(50, 16), (V{16, 16, 16, 2}));
  EXPECT_EQ(power_of_two_batches(16, 16), (V{16}));
  EXPECT_EQ(power_of_two_batches(7, 20), (V{4, 2, 1}));    // 20 rounds down to 16
  EXPECT_EQ(power_of_two_batches(40, 20), (V{16, 16, 8}));
  EXPECT_EQ(power_of_two_batches(3, 1), (V{1, 1, 1}));
  EXPECT_EQ(power_of_two_batches(5, 0), (V{1, 1, 1, 1, 1}));  // a 0 cap still makes progress
  for (size_t n = 0; n < 200; ++n) {
    const V b = power_of_two_batches(n, 64);
    EXPECT_EQ(std::accumulate(b.begin(), b.end(), size_t{0}), n);
  }
}

TEST(TensorMemory, LargeTensorsComeFromTheBlockCacheAndComputeTheSame) {
  torch::manual_seed(3);
  const auto x = torch::randn({4, 8, 64, 64});
  auto conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 16, 3).padding(1));
  torch::NoGradGuard no_grad;
  const auto before = conv->forward(x).clone();
  EXPECT_TRUE(tensor_memory_stats().empty());
  use_block_cache_for_tensors();
  use_block_cache_for_tensors();  // idempotent
  EXPECT_TRUE(torch::equal(before, conv->forward(x)));  // 4x16x64x64 floats = 1 MiB: a cached block
  nlohmann::json s = tensor_memory_stats();
  ASSERT_FALSE(s.empty());
  EXPECT_GE(s["misses"].get<size_t>(), 1u);
  EXPECT_TRUE(torch::equal(before, conv->forward(x)));  // freed and taken again
  s = tensor_memory_stats();
  const size_t misses = s["misses"], hits = s["hits"];
  EXPECT_GE(hits, 1u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(before, conv->forward(x)));
  s = tensor_memory_stats();
  EXPECT_EQ(s["misses"].get<size_t>(), misses);  // warm: the same sizes are served from the cache
  EXPECT_GE(s["hits"].get<size_t>(), hits + 3);
  EXPECT_EQ(s["live_mb"].get<double>(), 0.0);
  const auto small = torch::ones({10});  // 40 bytes: malloc, freed through the same deleter
  EXPECT_EQ(small.sum().item<float>(), 10.0f);
}
