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
  if (d.cache->size() != d.rows.size()) {
    throw RuntimeError("prepared dataset " + dir + ": manifest has " + std::to_string(d.rows.size()) +
                       " rows but the image cache holds " + std::to_string(d.cache->size()) + " images");
  }
  return d;
}

std::vector<size_t> PreparedDataset::indices(Split s) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].split == s) out.push_back(i);
  }
  return out;
}

}  // namespace agegender
