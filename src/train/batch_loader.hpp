#pragma once
// In-memory split tensors and a background-prefetching batch loader with seeded augmentation.
#include <torch/torch.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "agegender/binning.hpp"
#include "agegender/config.hpp"
#include "agegender/prepared_dataset.hpp"

namespace agegender {

/// Per-channel input normalisation, stored with checkpoints so eval/predict preprocess identically.
struct Normalization {
  std::vector<float> mean, std;
  static Normalization plain(int channels);     // x in [0,1] -> (x - 0.5) / 0.25
  static Normalization imagenet(int channels);  // torchvision's ImageNet statistics
};

/// ITU-R 601 luma of float RGB [N, 3, H, W] -> [N, 1, H, W]; training and predict share it so that
/// grayscale models see the same input in both.
torch::Tensor rgb_to_gray(const torch::Tensor& rgb);

/// One split, resized to the model input once, held as uint8 [N, C, S, S] (C = 1 when grayscale).
struct SplitData {
  torch::Tensor images;                        // uint8
  torch::Tensor age_class, gender, race, age;  // int64 [N]
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

SplitData load_split(const PreparedDataset& ds, const std::vector<size_t>& indices, int size, bool color,
                     const AgeBinning& binning);

struct Batch {
  torch::Tensor x;  // float, normalised
  torch::Tensor age_class, gender, race, age;
};

/// Produces the batches of one epoch on a background thread (queue of `prefetch` batches). Order and
/// augmentation depend only on (seed, epoch, batch index): the same run resumed mid-way sees the same data.
class BatchLoader {
 public:
  BatchLoader(const SplitData& data, int batch_size, bool shuffle, const AugmentConfig* augment, uint64_t seed,
              int epoch, Normalization norm, int prefetch = 3);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// False when the epoch is done. Rethrows a failure of the producer thread.
  bool next(Batch& out);
  int64_t num_batches() const { return num_batches_; }

 private:
  Batch make_batch(int64_t b) const;
  void produce();

  const SplitData& data_;
  int batch_size_;
  const AugmentConfig* augment_;
  uint64_t seed_;
  int epoch_;
  Normalization norm_;
  size_t prefetch_;
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

/// Deterministic uniform [0, 1) from a 64-bit generator (no std::uniform_real_distribution, which
/// differs between standard libraries).
inline double unit_uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace agegender
