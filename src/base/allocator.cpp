#include "agegender/allocator.hpp"

#include <malloc.h>

namespace agegender {
void tune_allocator() {
  // Both are needed: a high mmap threshold serves big tensors from the heap, and a high trim threshold
  // stops free() from shrinking the heap again. Memory stays at the peak working set, which training
  // reaches every step anyway.
  constexpr int kOneGiB = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kOneGiB);
  mallopt(M_TRIM_THRESHOLD, kOneGiB);
}
}  // namespace agegender
