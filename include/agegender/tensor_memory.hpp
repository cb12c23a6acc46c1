#pragma once
// Where LibTorch's CPU tensors get their memory in long runs (visitors): large blocks from a BlockCache
// (block_cache.hpp: one mapping per block, reused by size class, idle ones given back), small ones from
// malloc. Installed once per process; tensors made before keep their own allocator.
#include <nlohmann/json_fwd.hpp>

namespace agegender {
/// Routes every later CPU tensor allocation through the process's block cache. Idempotent.
void use_block_cache_for_tensors();
/// The cache's counters since it was installed (hits, misses, released blocks, live / cached / peak MiB);
/// empty before use_block_cache_for_tensors().
nlohmann::json tensor_memory_stats();
}  // namespace agegender
