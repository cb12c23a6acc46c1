#pragma once
// A split of a prepared dataset and a background-prefetching batch loader with seeded augmentation.
#include <torch/torch.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "agegender/binning.hpp"
#include "agegender/config.hpp"
#include "agegender/preprocess.hpp"
#include "agegender/prepared_dataset.hpp"

namespace agegender {

/// One split as a view of square RGB source images (normally the memory-mapped prepared cache) plus its
/// labels. Pixels are brought to the model input batch by batch (preprocess.hpp, stage 2), so memory
/// does not grow with the dataset: only labels are held per image.
struct SplitData {
  int source_size = 0;                               // side of the HWC RGB source images
  std::function<const uint8_t*(size_t row)> image;   // row -> source pixels; owns what it points into
  std::vector<size_t> rows;                          // source rows of this split, in order
  torch::Tensor age_class, gender, race, age;        // int64 [N]
  int64_t size() const { return static_cast<int64_t>(rows.size()); }
};

/// The split's rows of a prepared dataset (labels from the manifest, pixels from its mapped cache).
SplitData load_split(const PreparedDataset& ds, const std::vector<size_t>& indices, const AgeBinning& binning);

struct Batch {
  torch::Tensor x;       // float, normalised pixels (or cached features below the model's cut); raw loaders: uint8
  torch::Tensor draws;   // raw loaders: float [m, 5] per-sample augmentation (sy, sx, flip, gain, offset)
  torch::Tensor x_flip;  // the horizontally flipped input, when the source has it (feature caches)
  torch::Tensor age_class, gender, race, age;
};

/// The sample order of an epoch: 0..n-1, shuffled by (seed, epoch) when asked.
std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int epoch);
/// Labels of samples order[start .. start+m) into `batch`.
void gather_labels(const SplitData& data, const std::vector<int64_t>& order, int64_t start, int64_t m, Batch& batch);

/// One sample's random augmentation, drawn in a fixed order from the batch's generator, so loaders that
/// apply only part of it (the feature cache: flips) see the same flips as the pixel loader.
struct AugmentDraw {
  int64_t sy = 0, sx = 0;
  bool flip = false;
  float gain = 1, offset = 0;
  int low = 0;  // > 0: shrink to this side and back first (train.augment.downscale)
};
std::mt19937_64 batch_rng(uint64_t seed, int epoch, int64_t batch);
/// `side`: the model input's (0 where no pixels are augmented: the downscale draw is skipped).
AugmentDraw draw_augment(std::mt19937_64& rng, const AugmentConfig& augment, int64_t pad, int64_t side);
/// Translation range in pixels for a side of `side`.
int64_t augment_pad(const AugmentConfig& augment, int64_t side);
/// "" when every enabled augmentation is a horizontal flip (cacheable), else the first key that needs
/// pixels, as "train.augment.shift = 0.1".
std::string augment_needing_pixels(const AugmentConfig& augment);

/// What a BatchLoader hands over. Normalised: float batches augmented on the loader thread (CPU training).
/// Raw: uint8 model-size pixels plus each sample's augmentation draws, for augment_on_device (GPU training:
/// a quarter of the bytes to upload and no float work on the host); `pinned` allocates them in page-locked
/// memory so the upload can be asynchronous (CUDA builds only).
struct LoaderOutput {
  bool raw = false;
  bool pinned = false;
};

/// Produces the batches of one epoch on a background thread (queue of `prefetch` batches). Order and
/// augmentation depend only on (seed, epoch, batch index): the same run resumed mid-way sees the same data.
class BatchLoader {
 public:
  BatchLoader(const SplitData& data, const ModelInput& input, int batch_size, bool shuffle, const AugmentConfig* augment,
              uint64_t seed, int epoch, int prefetch = 3, LoaderOutput output = {});
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// False when the epoch is done. Rethrows a failure of the producer thread.
  bool next(Batch& out);
  int64_t num_batches() const { return num_batches_; }

 private:
  Batch make_batch(int64_t b) const;
  Batch make_raw_batch(int64_t b) const;
  void produce();

  const SplitData& data_;
  int batch_size_;
  const AugmentConfig* augment_;
  uint64_t seed_;
  int epoch_;
  ModelInput input_;
  size_t prefetch_;
  LoaderOutput output_;
  std::vector<int64_t> order_;
  int64_t num_batches_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  int64_t produced_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread worker_;
};

/// Turns a raw batch (uint8 [m, C, S, S] and its draws, already on the device) into the normalised float
/// batch the CPU loader would have made from the same samples: the same translation, flip, contrast,
/// brightness and normalisation, as tensor ops. The constants live on the device, so a call never waits
/// for the host. `augment` false: normalisation only.
class DeviceAugment {
 public:
  DeviceAugment(const Normalization& norm, torch::Device device, bool augment);
  torch::Tensor operator()(const torch::Tensor& pixels, const torch::Tensor& draws) const;

 private:
  torch::Tensor mean_, scale_;  // [1, C, 1, 1] on the device
  bool augment_;
};

/// Deterministic uniform [0, 1) from a 64-bit generator (no std::uniform_real_distribution, which
/// differs between standard libraries).
inline double unit_uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace agegender
