#include "agegender/block_cache.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>

namespace agegender {

namespace {
constexpr size_t kPage = 4096;
}

BlockCache::BlockCache(const BlockCacheOptions& options) : o_(options) {
  if (o_.class_steps < 1 || o_.class_steps > 64) {
    throw std::invalid_argument("BlockCache: class_steps " + std::to_string(o_.class_steps) + " not in 1..64");
  }
  o_.min_bytes = std::max<size_t>(o_.min_bytes, kPage);
  keep_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.keep_seconds));
}

BlockCache::~BlockCache() {
  while (!free_.empty()) release_front();
}

size_t BlockCache::size_class(size_t bytes) const {
  size_t octave = 1;
  while (octave <= bytes / 2) octave *= 2;  // the largest power of two <= bytes
  const size_t step = std::max(kPage, octave / static_cast<size_t>(o_.class_steps));
  return (bytes + step - 1) / step * step;
}

void* BlockCache::take(size_t bytes) {
  if (bytes < o_.min_bytes) return nullptr;
  const size_t size = size_class(bytes);
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto hit = by_size_.find(size);
  if (hit != by_size_.end() && !hit->second.empty()) {
    auto it = hit->second.back();  // the most recently freed: its pages are likeliest in cache
    hit->second.pop_back();
    p = it->p;
    free_.erase(it);
    s_.cached_bytes -= size;
    ++s_.hits;
  } else {
    p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    ++s_.misses;
  }
  live_.emplace(p, size);
  s_.live_bytes += size;
  s_.peak_mapped_bytes = std::max(s_.peak_mapped_bytes, s_.live_bytes + s_.cached_bytes);
  release_while_over(now);
  return p;
}

bool BlockCache::give(void* p) {
  if (!p) return false;
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  if (it == live_.end()) return false;
  const size_t size = it->second;
  live_.erase(it);
  s_.live_bytes -= size;
  free_.push_back({p, size, now});
  by_size_[size].push_back(std::prev(free_.end()));
  s_.cached_bytes += size;
  release_while_over(now);
  return true;
}

void BlockCache::release_idle(Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  release_while_over(now);
}

BlockCacheStats BlockCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return s_;
}

// Caller holds mu_. The oldest free block is also the oldest of its class (both lists are in free order).
void BlockCache::release_while_over(Clock::time_point now) {
  while (!free_.empty() && (s_.cached_bytes > o_.max_cached_bytes || now - free_.front().freed > keep_)) release_front();
}

void BlockCache::release_front() {
  const FreeBlock b = free_.front();
  auto& same = by_size_[b.size];
  same.erase(same.begin());
  if (same.empty()) by_size_.erase(b.size);
  free_.pop_front();
  munmap(b.p, b.size);
  s_.cached_bytes -= b.size;
  ++s_.released;
}

}  // namespace agegender
