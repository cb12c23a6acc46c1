#include "visitors/cluster.hpp"

#include <cmath>
#include <limits>

namespace agegender {

double descriptor_distance(const float* a, const float* b, size_t dims) {
  double s = 0;
  for (size_t i = 0; i < dims; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    s += d * d;
  }
  return std::sqrt(s);
}

// Lance-Williams average linkage over a dense distance matrix; each live cluster caches its nearest
// neighbour, so a merge costs O(n) plus a rescan of the rows that pointed at the merged pair.
std::vector<int> cluster_tracks(const std::vector<ClusterItem>& items, size_t dims, double threshold) {
  const size_t n = items.size();
  constexpr double kApart = std::numeric_limits<double>::infinity();
  std::vector<double> dist(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const ClusterItem &a = items[i], &b = items[j];
      const bool together = a.camera == b.camera && a.first_frame <= b.last_frame && b.first_frame <= a.last_frame;
      dist[i * n + j] = dist[j * n + i] = together ? kApart : descriptor_distance(a.descriptor, b.descriptor, dims);
    }
  }
  std::vector<size_t> size(n, 1), nearest(n, 0), parent(n);
  std::vector<bool> live(n, true);
  for (size_t i = 0; i < n; ++i) parent[i] = i;
  auto rescan = [&](size_t i) {
    double best = kApart;
    nearest[i] = i;
    for (size_t j = 0; j < n; ++j) {
      if (j != i && live[j] && dist[i * n + j] < best) {
        best = dist[i * n + j];
        nearest[i] = j;
      }
    }
  };
  for (size_t i = 0; i < n; ++i) rescan(i);
  for (;;) {
    size_t a = n;
    double best = threshold;
    for (size_t i = 0; i < n; ++i) {
      if (live[i] && nearest[i] != i && dist[i * n + nearest[i]] < best) {
        best = dist[i * n + nearest[i]];
        a = i;
      }
    }
    if (a == n) break;
    const size_t b = nearest[a];
    // b joins a: average distances (infinity, i.e. cannot-link, stays infinity).
    for (size_t k = 0; k < n; ++k) {
      if (!live[k] || k == a || k == b) continue;
      const double d = (size[a] * dist[a * n + k] + size[b] * dist[b * n + k]) / static_cast<double>(size[a] + size[b]);
      dist[a * n + k] = dist[k * n + a] = d;
    }
    size[a] += size[b];
    live[b] = false;
    parent[b] = a;
    for (size_t k = 0; k < n; ++k) {
      if (!live[k]) continue;
      if (k == a || nearest[k] == a || nearest[k] == b) {
        rescan(k);
      } else if (dist[k * n + a] < dist[k * n + nearest[k]]) {
        nearest[k] = a;
      }
    }
  }
  std::vector<int> label(n, -1), root_label(n, -1);
  int next = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t r = i;
    while (parent[r] != r) r = parent[r];
    if (root_label[r] < 0) root_label[r] = next++;
    label[i] = root_label[r];
  }
  return label;
}

}  // namespace agegender
