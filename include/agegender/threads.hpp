#pragma once
#include <cstddef>
#include <functional>

namespace agegender {

/// Upper bound for every --threads / train.threads: more threads than this only thrash.
inline constexpr int kMaxThreads = 256;

/// 0 = all hardware threads; negative or above kMaxThreads is a usage error (throws UsageError naming
/// `name`, the flag or config key the value came from).
int resolve_threads(int requested, const char* name = "threads");

/// Runs body(i, worker) for i in [0, n) on min(threads, n) threads (dynamic scheduling, worker in
/// [0, threads)). The first exception thrown by a body stops further items from starting and is
/// re-thrown here after every thread has joined, instead of ending the process in std::terminate.
void parallel_for(size_t n, int threads, const std::function<void(size_t index, int worker)>& body);

}  // namespace agegender
