#pragma once
namespace agegender {
/// Keeps glibc from returning LibTorch's large activation buffers to the kernel after every step.
/// Without it each training step mmaps/munmaps and page-faults its activations afresh: measured 4.5x
/// slower on the base CNN (bench_train_throughput: ~95 vs ~430 img/s). Idempotent; call before training.
void tune_allocator();
}  // namespace agegender
