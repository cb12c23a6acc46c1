#pragma once
// A cache of large memory blocks by size class, for processes that run the same networks for hours
// (`visitors`): every frame asks for the same few dozen activation sizes (3.8 MB, 15 MB, 60 MB ...) and
// every face batch for sizes that grow with its face count. glibc serves them from one heap that, with
// tune_allocator's high mmap threshold, fragments between the sizes (785 -> 1,472 MiB peak RSS over 6 h
// of video, docs/visitors.md); without that threshold every block is mapped and page-faulted afresh
// (jemalloc, which does that, was 14x slower). Here each block is its own mapping: a freed block waits
// in its class for the next request of that class (no page faults, no fragmentation) and goes back to
// the kernel once unused for `keep_seconds`, or oldest first while more than `max_cached_bytes` wait.
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace agegender {

struct BlockCacheOptions {
  size_t min_bytes = 256 << 10;           // smaller requests are not served here (take() returns null)
  size_t max_cached_bytes = size_t{512} << 20;  // free blocks kept at most, oldest given back first
  double keep_seconds = 10;               // a free block unused this long goes back to the kernel
  int class_steps = 8;                    // size classes per power of two (waste <= 1/class_steps)
};

struct BlockCacheStats {
  size_t hits = 0, misses = 0;        // takes served from a cached block / by a new mapping
  size_t released = 0;                // blocks given back to the kernel
  size_t live_bytes = 0, cached_bytes = 0;
  size_t peak_mapped_bytes = 0;       // most bytes mapped at once (live + cached)
};

class BlockCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit BlockCache(const BlockCacheOptions& options = {});
  ~BlockCache();  // unmaps the cached blocks; live ones must have been given back
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  /// A block of at least `bytes` (page-aligned), or null when `bytes` < min_bytes. Throws
  /// std::bad_alloc when the kernel refuses a mapping.
  void* take(size_t bytes);
  /// Returns a block from take(); false (and nothing done) when `p` is not one of this cache's live blocks.
  bool give(void* p);
  /// The size a request of `bytes` is served with (>= bytes).
  size_t size_class(size_t bytes) const;
  BlockCacheStats stats() const;
  /// Gives back every cached block unused for keep_seconds by `now` (take and give call this too).
  void release_idle(Clock::time_point now);

 private:
  struct FreeBlock {
    void* p;
    size_t size;
    Clock::time_point freed;
  };
  void release_front();
  void release_while_over(Clock::time_point now);

  BlockCacheOptions o_;
  Clock::duration keep_;  // o_.keep_seconds, converted once (release_while_over runs on every take and give)
  mutable std::mutex mu_;
  std::list<FreeBlock> free_;  // oldest first
  std::unordered_map<size_t, std::vector<std::list<FreeBlock>::iterator>> by_size_;  // per class, oldest first
  std::unordered_map<void*, size_t> live_;  // block -> its class size
  BlockCacheStats s_;
};

}  // namespace agegender
