#include "agegender/duplicates.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

namespace agegender {
namespace {

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h ^ s.size();
}

}  // namespace

std::vector<std::vector<size_t>> find_duplicate_groups(const std::vector<std::string_view>& contents) {
  std::unordered_map<uint64_t, std::vector<size_t>> by_hash;
  for (size_t i = 0; i < contents.size(); ++i) by_hash[fnv1a(contents[i])].push_back(i);
  std::vector<std::vector<size_t>> groups;
  for (auto& [hash, idx] : by_hash) {
    if (idx.size() < 2) continue;
    // Split a hash bucket into classes of truly equal bytes (collisions are possible, if unlikely).
    std::vector<bool> used(idx.size(), false);
    for (size_t a = 0; a < idx.size(); ++a) {
      if (used[a]) continue;
      std::vector<size_t> g{idx[a]};
      for (size_t b = a + 1; b < idx.size(); ++b) {
        if (!used[b] && contents[idx[b]] == contents[idx[a]]) {
          used[b] = true;
          g.push_back(idx[b]);
        }
      }
      if (g.size() > 1) {
        std::sort(g.begin(), g.end());
        groups.push_back(std::move(g));
      }
    }
  }
  std::sort(groups.begin(), groups.end());
  return groups;
}

}  // namespace agegender
