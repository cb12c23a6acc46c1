#pragma once
// LibTorch's intra-op thread pool, set from the command's --threads (LibTorch defaults to one thread here).
namespace agegender {
void set_compute_threads(int threads);
}  // namespace agegender
