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
};

/// Cluster label (0..clusters-1, numbered in order of each cluster's first item) for every item. Pairs
/// are merged while the average distance between two clusters is below `threshold`.
std::vector<int> cluster_tracks(const std::vector<ClusterItem>& items, size_t dims, double threshold);

/// Euclidean distance between two descriptors.
double descriptor_distance(const float* a, const float* b, size_t dims);

}  // namespace agegender
