#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "agegender/error.hpp"
#include "agegender/threads.hpp"

using namespace agegender;

TEST(Threads, ResolveBoundsRequests) {
  EXPECT_GE(resolve_threads(0), 1);
  EXPECT_EQ(resolve_threads(3), 3);
  EXPECT_THROW(resolve_threads(-1), UsageError);
  EXPECT_THROW(resolve_threads(100000), UsageError);
  EXPECT_EQ(resolve_threads(kMaxThreads), kMaxThreads);
}

TEST(Threads, ParallelForVisitsEveryIndexOnce) {
  std::vector<std::atomic<int>> hits(1000);
  parallel_for(hits.size(), 4, [&](size_t i, int worker) {
    EXPECT_GE(worker, 0);
    EXPECT_LT(worker, 4);
    hits[i]++;
  });
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
  parallel_for(0, 4, [](size_t, int) { FAIL() << "no items"; });
}

TEST(Threads, ParallelForRethrowsAWorkersExceptionAfterJoining) {
  std::atomic<int> started{0};
  try {
    // The other items take 1 ms each, so running all 10,000 would take ~5 s on the two other
    // workers: whether they stop must not depend on how soon the scheduler runs the throwing
    // thread again (with empty bodies they finished everything before it on a loaded CI machine).
    parallel_for(10000, 3, [&](size_t i, int) {
      ++started;
      if (i == 5) throw RuntimeError("item 5 failed");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    FAIL() << "expected the worker's exception";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "item 5 failed");
  }
  EXPECT_LT(started.load(), 10000) << "items kept starting after the failure";
  EXPECT_THROW(parallel_for(3, 1, [](size_t, int) { throw std::logic_error("inline"); }), std::logic_error);
}
