#pragma once
// A prepared dataset directory: manifest.csv + images.bin (+ meta.json, eda/).
#include <memory>
#include <string>
#include <vector>

#include "agegender/image_cache.hpp"
#include "agegender/manifest.hpp"

namespace agegender {

inline constexpr const char* kManifestFile = "manifest.csv";
inline constexpr const char* kImageCacheFile = "images.bin";
inline constexpr const char* kMetaFile = "meta.json";

struct PreparedDataset {
  std::string dir;
  std::vector<ManifestRow> rows;
  std::shared_ptr<ImageCache> cache;

  /// Throws UsageError when `dir` is missing, RuntimeError when its files disagree.
  static PreparedDataset open(const std::string& dir);
  /// Rows of split `s`; with fraction < 1 an evenly spaced, deterministic subset of them.
  std::vector<size_t> indices(Split s, double fraction = 1.0) const;
};

}  // namespace agegender
