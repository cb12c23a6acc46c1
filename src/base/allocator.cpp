#include "agegender/allocator.hpp"

#include <malloc.h>

#include <cstdlib>
#include <string>

namespace agegender {
void tune_allocator() {
  // Both are needed: a high mmap threshold serves big tensors from the heap, and a high trim threshold
  // stops free() from shrinking the heap again. Memory stays at the peak working set, which training
  // reaches every step anyway.
  constexpr int kOneGiB = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kOneGiB);
  mallopt(M_TRIM_THRESHOLD, kOneGiB);
}

void release_free_memory() { malloc_trim(0); }

void cap_kernel_cache(int entries) {
  const std::string n = std::to_string(entries);
  setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", n.c_str(), /*overwrite=*/0);
  setenv("DNNL_PRIMITIVE_CACHE_CAPACITY", n.c_str(), 0);  // oneDNN before 2.x's rename
}
}  // namespace agegender
