#pragma once
// Cached output of a model's frozen layers: when the conv layers below a cut are frozen, their output for
// every image of a prepared dataset (and for its horizontal flip) is computed once into
// `<prepared>/features/<arch>_<size>px_<cut>.feat`, memory-mapped by training, which then runs only the
// layers above the cut. The file records its key (weights hash of the frozen layers, architecture and cut,
// the input contract, the dataset's identity, dtype); a different key rebuilds it, never reuses it.
// Layout: "AGFEATC1" | u64 LE key length | key JSON | zero padding to 64 bytes | rows x 2 (original,
// flipped) x C x H x W values (fp16 or fp32).
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agegender/preprocess.hpp"
#include "agegender/prepared_dataset.hpp"
#include "model/batch_loader.hpp"
#include "model/face_net.hpp"

namespace agegender {

class FeatureCache {
 public:
  struct Options {
    bool fp16 = true;
    torch::Device device = torch::kCPU;
    int batch_size = 64;
    bool quiet = false;
  };
  /// The file for the output of feature blocks [0, blocks) (-1: the model's cut).
  static std::string path_for(const std::string& prepared_dir, const FaceNetImpl& model, const ModelInput& input,
                              int blocks = -1);
  /// What identifies the cached values: architecture and cut, hash of the weights and buffers below it,
  /// input contract, the dataset's manifest hash and image file size and time, dtype.
  static nlohmann::json key_for(FaceNetImpl& model, const PreparedDataset& ds, const ModelInput& input, bool fp16,
                                int blocks = -1);
  /// Opens the cache of `model`'s cut over all of `ds`, building it first (atomically) when it is missing,
  /// unreadable or made with another key; the log says which key changed. A valid cache of a lower cut of
  /// the same weights, when there is one, is the starting point (only the blocks between run; the header's
  /// "from" says so), else the pixels. The model must have a cut.
  static std::unique_ptr<FeatureCache> open_or_build(FaceNetImpl& model, const PreparedDataset& ds, const ModelInput& input,
                                                     const Options& o);
  /// Maps an existing cache file; throws RuntimeError naming it when it is foreign or truncated.
  explicit FeatureCache(const std::string& path);
  ~FeatureCache();
  FeatureCache(const FeatureCache&) = delete;
  FeatureCache& operator=(const FeatureCache&) = delete;

  const nlohmann::json& key() const { return key_; }
  const std::string& path() const { return path_; }
  uint64_t rows() const { return rows_; }
  const std::vector<int64_t>& shape() const { return shape_; }  // C, H, W
  bool fp16() const { return fp16_; }
  bool built() const { return built_; }        // open_or_build computed it
  double build_seconds() const { return build_seconds_; }
  /// Float features [m, C, H, W] of dataset rows `rows`, flipped where `flips[i]`.
  torch::Tensor gather(const std::vector<size_t>& rows, const std::vector<uint8_t>& flips) const;

 private:
  std::string path_;
  nlohmann::json key_;
  std::vector<int64_t> shape_;
  uint64_t rows_ = 0;
  bool fp16_ = true, built_ = false;
  double build_seconds_ = 0;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0, data_offset_ = 0, item_bytes_ = 0;
};

/// Batches of cached features for a split, in the same order and with the same flips as BatchLoader
/// with the same (seed, epoch) and an augmentation that only flips. `with_flips` also fills x_flip.
class CachedBatchLoader {
 public:
  CachedBatchLoader(const FeatureCache& cache, const SplitData& data, int batch_size, bool shuffle, const AugmentConfig* augment,
                    uint64_t seed, int epoch, bool with_flips = false);
  bool next(Batch& out);
  int64_t num_batches() const { return num_batches_; }

 private:
  const FeatureCache& cache_;
  const SplitData& data_;
  int batch_size_;
  const AugmentConfig* augment_;
  uint64_t seed_;
  int epoch_;
  bool with_flips_;
  std::vector<int64_t> order_;
  int64_t num_batches_ = 0, next_ = 0;
};

}  // namespace agegender
