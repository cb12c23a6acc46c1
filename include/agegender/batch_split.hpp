#pragma once
// How `n` items are cut into network batches in long runs: full batches of `largest` (a power of two),
// then the rest as powers of two (13 -> 8, 4, 1). Tensor shapes then come from a handful of sizes, so
// the block cache (block_cache.hpp) reuses the same blocks chunk after chunk and oneDNN its kernels,
// where a batch of every face count from 1 to 64 asked for hundreds of sizes.
#include <cstddef>
#include <vector>

namespace agegender {
/// Batch sizes summing to n, largest first. `largest` is rounded down to a power of two (>= 1).
std::vector<size_t> power_of_two_batches(size_t n, size_t largest);
}  // namespace agegender
