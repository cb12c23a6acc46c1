#pragma once
// A prepared dataset written directly (manifest + image cache), no OpenCV needed: synthetic faces whose
// brightness encodes the age and whose shape (square vs. disc) encodes the gender, so models can learn them.
#include <random>

#include "agegender/image_cache.hpp"
#include "agegender/manifest.hpp"
#include "agegender/prepared_dataset.hpp"
#include "agegender/atomic_file.hpp"
#include "test_util.hpp"

namespace agegender::test {

inline void write_prepared_dataset(const fs::path& dir, int n, int size, unsigned seed = 1) {
  fs::create_directories(dir);
  std::mt19937 rng(seed);
  std::vector<ManifestRow> rows;
  ImageCacheWriter cache((dir / kImageCacheFile).string(), static_cast<uint64_t>(n), size, size, 3);
  std::vector<uint8_t> px(static_cast<size_t>(size) * size * 3);
  for (int i = 0; i < n; ++i) {
    const int age = static_cast<int>(rng() % 80), gender = static_cast<int>(rng() % 2);
    const int shade = 70 + age * 2;
    const double r = size / 3.0;
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        const double dx = x - size / 2.0, dy = y - size / 2.0;
        const bool inside = gender == 0 ? (std::abs(dx) < r && std::abs(dy) < r) : (dx * dx + dy * dy < r * r);
        for (int c = 0; c < 3; ++c) {
          const int noise = static_cast<int>(rng() % 30);
          px[(static_cast<size_t>(y) * size + x) * 3 + c] = static_cast<uint8_t>(inside ? std::min(255, shade + noise) : noise);
        }
      }
    }
    cache.write(static_cast<uint64_t>(i), px.data());
    const Split split = i % 10 < 7 ? Split::Train : (i % 10 < 9 ? Split::Val : Split::Test);
    rows.push_back({"synthetic_" + std::to_string(i) + ".jpg", {age, gender, i % 5}, split});
  }
  cache.commit();
  write_file_atomic((dir / kManifestFile).string(), manifest_csv(rows));
}

}  // namespace agegender::test
