#pragma once
namespace agegender {
/// Keeps glibc from returning LibTorch's large activation buffers to the kernel after every step.
/// Without it each training step mmaps/munmaps and page-faults its activations afresh: measured 4.5x
/// slower on the base CNN (bench_train_throughput: ~95 vs ~430 img/s). Idempotent; call before training.
void tune_allocator();
/// Hands the heap's free pages back to the kernel (glibc malloc_trim), for long runs after tune_allocator.
void release_free_memory();
/// Caps oneDNN's cache of compiled convolution primitives (one per layer and input shape; default 1,024
/// entries) for processes that run for hours on batches of every size, where the cache alone grew the
/// RSS by ~0.5 GB per half hour of store video. Takes effect before the first convolution; an
/// ONEDNN_PRIMITIVE_CACHE_CAPACITY already in the environment wins. 128 entries: flat RSS on a store day at
/// 3.57x real time against 3.86x uncapped (16: 2.66x; docs/visitors.md).
void cap_kernel_cache(int entries = 128);
}  // namespace agegender
