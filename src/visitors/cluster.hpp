#pragma once
// Unique visitors from the day's tracks: average-linkage agglomerative clustering of per-track face
// descriptors (Euclidean distance), with a cannot-link rule: two tracks seen at the same time by the same
// camera are different people, and so is any pair of clusters holding such tracks. Plain C++.
#include <cstddef>
#include <vector>

namespace agegender {

struct ClusterItem {
  const float* descriptor = nullptr;  // `dims` floats, owned by the caller
  int camera = 0;                     // tracks of one camera overlapping in time cannot be one person
  long first_frame = 0, last_frame = 0;
  float strictness = 1;  // a pair's distance is scaled by the larger of its two items' (see kChildStrictness)
};

/// Cluster label (0..clusters-1, numbered in order of each cluster's first item) for every item. Pairs
/// are merged while the average distance between two clusters is below `threshold`.
std::vector<int> cluster_tracks(const std::vector<ClusterItem>& items, size_t dims, double threshold);

/// Euclidean distance between two descriptors.
double descriptor_distance(const float* a, const float* b, size_t dims);

/// Face descriptors of small children tell different children apart far less well: on the generated
/// 300-person day, 0.22 % of pairs of different people involving a 0-2 year old were closer than the
/// same-person distance against 0.002 % of pairs of adults (docs/visitors.md). Tracks whose fused age
/// estimate is below kChildAge get their distances scaled by kChildStrictness (0.325 -> 0.25 effective).
inline constexpr double kChildAge = 5.0;
inline constexpr float kChildStrictness = 1.3f;
/// ClusterItem::strictness for a track whose fused age estimate is `age` years.
inline float strictness_for_age(double age) { return age < kChildAge ? kChildStrictness : 1.0f; }

}  // namespace agegender
