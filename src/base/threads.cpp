#include "agegender/threads.hpp"

#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agegender/error.hpp"

namespace agegender {

int resolve_threads(int requested, const char* name) {
  if (requested < 0 || requested > kMaxThreads) {
    throw UsageError(std::string(name) + " " + std::to_string(requested) + ": expected 0.." + std::to_string(kMaxThreads) +
                     " (0 = all cores)");
  }
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(std::min<unsigned>(hw, kMaxThreads)) : 1;
}

void parallel_for(size_t n, int threads, const std::function<void(size_t, int)>& body) {
  const size_t workers = std::min(n, static_cast<size_t>(std::max(1, threads)));
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mu;
  auto work = [&](int w) {
    for (size_t i; !failed.load() && (i = next.fetch_add(1)) < n;) {
      try {
        body(i, w);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  if (workers <= 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    pool.reserve(workers);
    for (size_t w = 0; w < workers; ++w) pool.emplace_back(work, static_cast<int>(w));
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace agegender
