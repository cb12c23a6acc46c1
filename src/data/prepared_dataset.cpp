#include "agegender/prepared_dataset.hpp"

#include <filesystem>

#include "agegender/error.hpp"

namespace agegender {
namespace fs = std::filesystem;

PreparedDataset PreparedDataset::open(const std::string& dir) {
  if (!fs::is_directory(dir)) {
    throw UsageError("prepared dataset " + dir + " does not exist (create it with `agegender prepare --out " + dir + "`)");
  }
  PreparedDataset d;
  d.dir = dir;
  d.rows = read_manifest((fs::path(dir) / kManifestFile).string());
  d.cache = std::make_shared<ImageCache>((fs::path(dir) / kImageCacheFile).string());
  const ImageCacheHeader& h = d.cache->header();
  if (h.height != h.width || h.channels != 3) {  // prepare writes only square RGB images
    throw RuntimeError("image cache " + d.cache->path() + ": expected square RGB images, found " + std::to_string(h.width) +
                       " x " + std::to_string(h.height) + " x " + std::to_string(h.channels) + " (re-run `agegender prepare`)");
  }
  if (d.cache->size() != d.rows.size()) {
    throw RuntimeError("prepared dataset " + dir + ": manifest has " + std::to_string(d.rows.size()) +
                       " rows but the image cache holds " + std::to_string(d.cache->size()) + " images");
  }
  return d;
}

std::vector<size_t> PreparedDataset::indices(Split s, double fraction) const {
  std::vector<size_t> all;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].split == s) all.push_back(i);
  }
  if (fraction >= 1.0 || all.empty()) return all;
  // Evenly spaced picks: the manifest is sorted by file name (so by age), and a prefix would be all young.
  const size_t n = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(all.size()) * fraction));
  std::vector<size_t> out;
  for (size_t k = 0; k < n; ++k) out.push_back(all[k * all.size() / n]);
  return out;
}

}  // namespace agegender
