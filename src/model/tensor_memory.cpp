#include "agegender/tensor_memory.hpp"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <nlohmann/json.hpp>

#include "agegender/block_cache.hpp"

namespace agegender {

namespace {

BlockCache* g_cache = nullptr;  // set once; lives as long as the process (tensors may outlive main)

void free_block(void* p) {
  if (!g_cache->give(p)) std::free(p);  // not a cached block: a small one from posix_memalign
}

void* take_block(size_t n) {
  if (n == 0) return nullptr;
  if (void* p = g_cache->take(n)) return p;
  void* p = nullptr;
  if (posix_memalign(&p, 64, n) != 0) throw std::bad_alloc();  // 64: LibTorch's CPU alignment
  return p;
}

// LibTorch 2.3 made allocate() non-const and copy_data() required.
#define AG_TORCH_2_3 (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3))
#if AG_TORCH_2_3
#define AG_ALLOCATE_CONST
#else
#define AG_ALLOCATE_CONST const
#endif

// raw_deleter lets oneDNN (ideep), which allocates through raw_allocate, use the cache as well.
struct BlockCacheAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t n) AG_ALLOCATE_CONST override {
    void* p = take_block(n);
    return {p, p, &free_block, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &free_block; }
#if AG_TORCH_2_3
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
};

}  // namespace

void use_block_cache_for_tensors() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_cache = new BlockCache();
    c10::SetCPUAllocator(new BlockCacheAllocator(), /*priority=*/1);  // never freed: c10 keeps the pointer
  });
}

nlohmann::json tensor_memory_stats() {
  if (!g_cache) return nlohmann::json::object();
  const BlockCacheStats s = g_cache->stats();
  constexpr double kMiB = 1 << 20;
  return {{"hits", s.hits},
          {"misses", s.misses},
          {"released", s.released},
          {"live_mb", s.live_bytes / kMiB},
          {"cached_mb", s.cached_bytes / kMiB},
          {"peak_mapped_mb", s.peak_mapped_bytes / kMiB}};
}

}  // namespace agegender
