#include "train/batch_loader.hpp"

#include <random>

#include "agegender/error.hpp"

namespace agegender {
namespace F = torch::nn::functional;

Normalization Normalization::plain(int channels) {
  return {std::vector<float>(static_cast<size_t>(channels), 0.5f), std::vector<float>(static_cast<size_t>(channels), 0.25f)};
}

Normalization Normalization::imagenet(int channels) {
  if (channels == 1) return {{0.449f}, {0.226f}};  // the channel means of the RGB statistics
  return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
}

torch::Tensor rgb_to_gray(const torch::Tensor& rgb) {
  return (rgb.select(1, 0) * 0.299 + rgb.select(1, 1) * 0.587 + rgb.select(1, 2) * 0.114).unsqueeze(1);
}

SplitData load_split(const PreparedDataset& ds, const std::vector<size_t>& indices, int size, bool color,
                     const AgeBinning& binning) {
  const auto& h = ds.cache->header();
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t src = h.height, channels = color ? 3 : 1;
  SplitData out;
  out.images = torch::empty({n, channels, size, size}, torch::kUInt8);
  out.age_class = torch::empty({n}, torch::kLong);
  out.gender = torch::empty({n}, torch::kLong);
  out.race = torch::empty({n}, torch::kLong);
  out.age = torch::empty({n}, torch::kLong);
  constexpr int64_t kChunk = 512;  // bounds the float temporaries while resizing
  std::vector<uint8_t> staging(static_cast<size_t>(kChunk) * h.image_bytes());
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t m = std::min(kChunk, n - start);
    for (int64_t i = 0; i < m; ++i) {
      const size_t row = indices[static_cast<size_t>(start + i)];
      std::memcpy(staging.data() + static_cast<size_t>(i) * h.image_bytes(), ds.cache->image(row), h.image_bytes());
      const FaceLabel& l = ds.rows[row].label;
      out.age_class[start + i] = binning.class_of(l.age);
      out.gender[start + i] = l.gender;
      out.race[start + i] = l.race;
      out.age[start + i] = l.age;
    }
    // from_blob over our own staging buffer, consumed before the buffer is reused.
    torch::Tensor chunk = torch::from_blob(staging.data(), {m, src, static_cast<int64_t>(h.width), static_cast<int64_t>(h.channels)},
                                           torch::kUInt8)
                              .permute({0, 3, 1, 2});
    torch::Tensor f = chunk.to(torch::kFloat);
    if (!color) f = rgb_to_gray(f);
    if (src != size) {
      // Area averaging when shrinking (like cv::INTER_AREA), bilinear when enlarging.
      f = src > size ? F::adaptive_avg_pool2d(f, F::AdaptiveAvgPool2dFuncOptions({size, size}))
                     : F::interpolate(f, F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size})
                                             .mode(torch::kBilinear).align_corners(false));
    }
    out.images.narrow(0, start, m).copy_(f.round_().clamp_(0, 255).to(torch::kUInt8));
  }
  return out;
}

BatchLoader::BatchLoader(const SplitData& data, int batch_size, bool shuffle, const AugmentConfig* augment,
                         uint64_t seed, int epoch, Normalization norm, int prefetch)
    : data_(data), batch_size_(batch_size), augment_(augment), seed_(seed), epoch_(epoch), norm_(std::move(norm)),
      prefetch_(static_cast<size_t>(std::max(1, prefetch))) {
  const int64_t n = data.size();
  order_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order_[static_cast<size_t>(i)] = i;
  if (shuffle) {
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch));
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng() % i]);
  }
  num_batches_ = (n + batch_size - 1) / batch_size;
  worker_ = std::thread([this] { produce(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void BatchLoader::produce() {
  try {
    for (int64_t b = 0; b < num_batches_; ++b) {
      Batch batch = make_batch(b);
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || queue_.size() < prefetch_; });
      if (stop_) return;
      queue_.push_back(std::move(batch));
      ++produced_;
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::current_exception();
    cv_.notify_all();
  }
}

bool BatchLoader::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || error_ || produced_ == num_batches_; });
  if (error_) std::rethrow_exception(error_);
  if (queue_.empty()) return false;
  out = std::move(queue_.front());
  queue_.pop_front();
  cv_.notify_all();
  return true;
}

// Plain loops over the uint8 images instead of per-sample torch ops: one pass writes the augmented,
// normalised float batch without touching LibTorch's thread pool, which the training step is using.
Batch BatchLoader::make_batch(int64_t b) const {
  const int64_t start = b * batch_size_;
  const int64_t m = std::min<int64_t>(batch_size_, data_.size() - start);
  const int64_t c = data_.images.size(1), side = data_.images.size(2), plane = side * side;
  const auto idx = torch::from_blob(const_cast<int64_t*>(order_.data() + start), {m}, torch::kLong).clone();
  Batch batch;
  batch.age_class = data_.age_class.index_select(0, idx);
  batch.gender = data_.gender.index_select(0, idx);
  batch.race = data_.race.index_select(0, idx);
  batch.age = data_.age.index_select(0, idx);
  batch.x = torch::empty({m, c, side, side}, torch::kFloat);
  const uint8_t* images = data_.images.data_ptr<uint8_t>();
  float* out = batch.x.data_ptr<float>();
  std::mt19937_64 rng(seed_ * 6364136223846793005ULL + static_cast<uint64_t>(epoch_) * 1000003ULL + static_cast<uint64_t>(b));
  const int64_t pad = augment_ ? static_cast<int64_t>(std::lround(augment_->shift * static_cast<double>(side))) : 0;
  std::vector<float> scratch(static_cast<size_t>(c * plane));
  for (int64_t i = 0; i < m; ++i) {
    const uint8_t* src = images + order_[static_cast<size_t>(start + i)] * c * plane;
    float* dst = out + i * c * plane;
    if (!augment_) {
      for (int64_t ch = 0; ch < c; ++ch) {
        const float mean = norm_.mean[static_cast<size_t>(ch)], inv = 1.0f / norm_.std[static_cast<size_t>(ch)];
        for (int64_t p = 0; p < plane; ++p) dst[ch * plane + p] = (src[ch * plane + p] / 255.0f - mean) * inv;
      }
      continue;
    }
    // Random translation (edge pixels replicated) and horizontal flip, as one gather.
    const int64_t sy = pad > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * pad + 1)) - pad : 0;
    const int64_t sx = pad > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * pad + 1)) - pad : 0;
    const bool flip = augment_->hflip && (rng() & 1);
    const float gain = static_cast<float>(1.0 + augment_->contrast * (2 * unit_uniform(rng) - 1));
    const float offset = static_cast<float>(augment_->brightness * (2 * unit_uniform(rng) - 1));
    double sum = 0;
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t y = 0; y < side; ++y) {
        const int64_t yy = std::clamp<int64_t>(y + sy, 0, side - 1);
        const uint8_t* row = src + ch * plane + yy * side;
        float* o = scratch.data() + ch * plane + y * side;
        for (int64_t x = 0; x < side; ++x) {
          const int64_t xx = std::clamp<int64_t>((flip ? side - 1 - x : x) + sx, 0, side - 1);
          o[x] = row[xx] / 255.0f;
          sum += o[x];
        }
      }
    }
    // Contrast around the image's mean, then brightness; clamp to [0, 1]; then normalise.
    const float mean_px = static_cast<float>(sum / static_cast<double>(c * plane));
    for (int64_t ch = 0; ch < c; ++ch) {
      const float mean = norm_.mean[static_cast<size_t>(ch)], inv = 1.0f / norm_.std[static_cast<size_t>(ch)];
      for (int64_t p = 0; p < plane; ++p) {
        const float v = std::clamp((scratch[static_cast<size_t>(ch * plane + p)] - mean_px) * gain + mean_px + offset, 0.0f, 1.0f);
        dst[ch * plane + p] = (v - mean) * inv;
      }
    }
  }
  return batch;
}

}  // namespace agegender
