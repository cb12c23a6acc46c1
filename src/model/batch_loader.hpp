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
  torch::Tensor x;  // float, normalised
  torch::Tensor age_class, gender, race, age;
};

/// Produces the batches of one epoch on a background thread (queue of `prefetch` batches). Order and
/// augmentation depend only on (seed, epoch, batch index): the same run resumed mid-way sees the same data.
class BatchLoader {
 public:
  BatchLoader(const SplitData& data, const ModelInput& input, int batch_size, bool shuffle, const AugmentConfig* augment,
              uint64_t seed, int epoch, int prefetch = 3);
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
  ModelInput input_;
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
