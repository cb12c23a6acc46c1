#pragma once
// A prepared dataset written directly (manifest + image cache), no OpenCV needed: synthetic faces whose
// brightness encodes the age and whose shape (square vs. disc) encodes the gender, so models can learn them.
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "agegender/image_cache.hpp"
#include "agegender/manifest.hpp"
#include "agegender/prepared_dataset.hpp"
#include "agegender/atomic_file.hpp"
#include "agegender/config.hpp"
#include "agegender/trainer.hpp"
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

/// train() on a resolved config, quietly; optionally stopping after N epochs or starting from weights.
inline TrainResult train_config(const nlohmann::json& config, int stop_after = 0, const std::string& init_from = "") {
  TrainRequest r;
  r.config = config;
  r.quiet = true;
  r.stop_after_epochs = stop_after;
  r.init_from = init_from;
  return train(r);
}

inline TrainResult resume_run(const std::string& run_dir) {
  TrainRequest r;
  r.resume_dir = run_dir;
  r.quiet = true;
  return train(r);
}

/// A one-epoch model on `images` generated images of side `size` (`dir`/data -> `dir`/runs/model);
/// returns its run directory. For suites that need some trained model to predict or evaluate with.
inline std::string train_tiny_model(const TempDir& dir, int images, int size, const std::vector<std::string>& overrides = {}) {
  write_prepared_dataset(dir.path() / "data", images, size);
  const std::string px = std::to_string(size);
  std::vector<std::string> sets = {"data.prepared=" + nlohmann::json(dir.str("data")).dump(), "data.size=" + px,
                                   "train.epochs=1", "train.threads=2", "name=model",
                                   "output.dir=" + nlohmann::json(dir.str("runs")).dump()};
  sets.insert(sets.end(), overrides.begin(), overrides.end());
  return train_config(resolve_config_tree("", sets)).run_dir;
}

}  // namespace agegender::test
