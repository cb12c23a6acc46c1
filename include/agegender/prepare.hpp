#pragma once
// `agegender prepare`: raw UTKFace folder/archive -> validated, split, cached dataset directory.
#include <cstdint>
#include <string>

#include "agegender/image_limits.hpp"
#include "agegender/split.hpp"

namespace agegender {

struct PrepareOptions {
  std::string data;  // folder or .tar/.tar.gz
  std::string out;   // output directory (created)
  int size = 128;    // cached image side, pixels
  SplitFractions split;
  uint64_t seed = 42;
  int threads = 0;  // 0 = all cores
  int balanced_classes = 7;
  int64_t max_pixels = kDefaultMaxPixels;  // larger images are rejected before they are decoded
  bool quiet = false;
};

struct PrepareReport {
  size_t files = 0, accepted = 0, rejected = 0, duplicate_groups = 0;
  size_t split_counts[3] = {0, 0, 0};
  double seconds = 0;
};

/// Throws UsageError for bad options/paths, RuntimeError when nothing usable remains or on I/O failure.
PrepareReport prepare_dataset(const PrepareOptions& options);

}  // namespace agegender
