#include "model/batch_loader.hpp"

#include <random>

#include "agegender/error.hpp"

namespace agegender {

SplitData load_split(const PreparedDataset& ds, const std::vector<size_t>& indices, const AgeBinning& binning) {
  const auto& h = ds.cache->header();
  if (h.height != h.width || h.channels != 3) {
    throw RuntimeError(ds.cache->path() + ": expected square RGB images, found " + std::to_string(h.width) + "x" +
                       std::to_string(h.height) + "x" + std::to_string(h.channels));
  }
  const int64_t n = static_cast<int64_t>(indices.size());
  SplitData out;
  out.source_size = static_cast<int>(h.height);
  std::shared_ptr<ImageCache> cache = ds.cache;
  out.image = [cache](size_t row) { return cache->image(row); };
  out.rows = indices;
  out.age_class = torch::empty({n}, torch::kLong);
  out.gender = torch::empty({n}, torch::kLong);
  out.race = torch::empty({n}, torch::kLong);
  out.age = torch::empty({n}, torch::kLong);
  auto cls = out.age_class.accessor<int64_t, 1>(), gender = out.gender.accessor<int64_t, 1>();
  auto race = out.race.accessor<int64_t, 1>(), age = out.age.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    const FaceLabel& l = ds.rows[indices[static_cast<size_t>(i)]].label;
    cls[i] = binning.class_of(l.age);
    gender[i] = l.gender;
    race[i] = l.race;
    age[i] = l.age;
  }
  return out;
}

std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  if (shuffle) {
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  }
  return order;
}

void gather_labels(const SplitData& data, const std::vector<int64_t>& order, int64_t start, int64_t m, Batch& batch) {
  const auto idx = torch::from_blob(const_cast<int64_t*>(order.data() + start), {m}, torch::kLong).clone();
  batch.age_class = data.age_class.index_select(0, idx);
  batch.gender = data.gender.index_select(0, idx);
  batch.race = data.race.index_select(0, idx);
  batch.age = data.age.index_select(0, idx);
}

std::mt19937_64 batch_rng(uint64_t seed, int epoch, int64_t batch) {
  return std::mt19937_64(seed * 6364136223846793005ULL + static_cast<uint64_t>(epoch) * 1000003ULL + static_cast<uint64_t>(batch));
}

AugmentDraw draw_augment(std::mt19937_64& rng, const AugmentConfig& augment, int64_t pad, int64_t side) {
  AugmentDraw d;
  d.sy = pad > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * pad + 1)) - pad : 0;
  d.sx = pad > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * pad + 1)) - pad : 0;
  d.flip = augment.hflip && (rng() & 1);
  d.gain = static_cast<float>(1.0 + augment.contrast * (2 * unit_uniform(rng) - 1));
  d.offset = static_cast<float>(augment.brightness * (2 * unit_uniform(rng) - 1));
  // Drawn last and only when enabled, so runs without it keep their random streams (and resumes).
  if (augment.downscale > 0 && side > augment.downscale_min && unit_uniform(rng) < augment.downscale) {
    d.low = augment.downscale_min + static_cast<int>(rng() % static_cast<uint64_t>(side - augment.downscale_min));
  }
  return d;
}

int64_t augment_pad(const AugmentConfig& augment, int64_t side) {
  return static_cast<int64_t>(std::lround(augment.shift * static_cast<double>(side)));
}

std::string augment_needing_pixels(const AugmentConfig& augment) {
  if (augment.shift > 0) return "train.augment.shift = " + std::to_string(augment.shift);
  if (augment.brightness > 0) return "train.augment.brightness = " + std::to_string(augment.brightness);
  if (augment.contrast > 0) return "train.augment.contrast = " + std::to_string(augment.contrast);
  if (augment.downscale > 0) return "train.augment.downscale = " + std::to_string(augment.downscale);
  return "";
}

BatchLoader::BatchLoader(const SplitData& data, const ModelInput& input, int batch_size, bool shuffle,
                         const AugmentConfig* augment, uint64_t seed, int epoch, int prefetch, LoaderOutput output)
    : data_(data), batch_size_(batch_size), augment_(augment), seed_(seed), epoch_(epoch), input_(input),
      prefetch_(static_cast<size_t>(std::max(1, prefetch))), output_(output) {
  // Another prepared set (eval --data) may be cached at another side: resample from what it has.
  if (data.size() > 0) input_.source_size = data.source_size;
  const int64_t n = data.size();
  order_ = epoch_order(n, shuffle, seed, epoch);
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
      Batch batch = output_.raw ? make_raw_batch(b) : make_batch(b);
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
  const int64_t c = input_.channels, side = input_.size, plane = side * side;
  Batch batch;
  gather_labels(data_, order_, start, m, batch);
  batch.x = torch::empty({m, c, side, side}, torch::kFloat);
  float* out = batch.x.data_ptr<float>();
  std::mt19937_64 rng = batch_rng(seed_, epoch_, b);
  const int64_t pad = augment_ ? augment_pad(*augment_, side) : 0;
  std::vector<float> scratch(static_cast<size_t>(c * plane));
  std::vector<uint8_t> pixels(static_cast<size_t>(c * plane));
  const Normalization& norm = input_.norm;
  for (int64_t i = 0; i < m; ++i) {
    source_to_model(data_.image(data_.rows[static_cast<size_t>(order_[static_cast<size_t>(start + i)])]), input_,
                    pixels.data());
    const uint8_t* src = pixels.data();
    float* dst = out + i * c * plane;
    if (!augment_) {
      normalize_pixels(src, input_, dst);
      continue;
    }
    const auto [sy, sx, flip, gain, offset, low] = draw_augment(rng, *augment_, pad, side);
    if (low > 0) degrade_resolution(pixels.data(), static_cast<int>(c), static_cast<int>(side), low);
    // Random translation (edge pixels replicated) and horizontal flip, as one gather.
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
      const float mean = norm.mean[static_cast<size_t>(ch)], inv = 1.0f / norm.std[static_cast<size_t>(ch)];
      for (int64_t p = 0; p < plane; ++p) {
        const float v = std::clamp((scratch[static_cast<size_t>(ch * plane + p)] - mean_px) * gain + mean_px + offset, 0.0f, 1.0f);
        dst[ch * plane + p] = (v - mean) * inv;
      }
    }
  }
  return batch;
}

// The draws are taken from the same generator in the same order as make_batch, so both paths see the
// same augmentation of every sample.
Batch BatchLoader::make_raw_batch(int64_t b) const {
  const int64_t start = b * batch_size_;
  const int64_t m = std::min<int64_t>(batch_size_, data_.size() - start);
  const int64_t c = input_.channels, side = input_.size, sample = c * side * side;
  Batch batch;
  gather_labels(data_, order_, start, m, batch);
  if (output_.pinned) {  // a copy from pageable memory would wait for the device
    for (auto* t : {&batch.age_class, &batch.gender, &batch.race, &batch.age}) *t = t->pin_memory();
  }
  const auto opts = torch::TensorOptions().pinned_memory(output_.pinned);
  batch.x = torch::empty({m, c, side, side}, opts.dtype(torch::kByte));
  batch.draws = torch::empty({m, 5}, opts.dtype(torch::kFloat));
  uint8_t* out = batch.x.data_ptr<uint8_t>();
  float* draws = batch.draws.data_ptr<float>();
  std::mt19937_64 rng = batch_rng(seed_, epoch_, b);
  const int64_t pad = augment_ ? augment_pad(*augment_, side) : 0;
  std::vector<int> lows(static_cast<size_t>(m));  // resolution is degraded here on the host: same pixels as make_batch
  for (int64_t i = 0; i < m; ++i) {
    const AugmentDraw d = augment_ ? draw_augment(rng, *augment_, pad, side) : AugmentDraw{};
    float* row = draws + i * 5;
    row[0] = static_cast<float>(d.sy), row[1] = static_cast<float>(d.sx), row[2] = d.flip ? 1.0f : 0.0f;
    row[3] = d.gain, row[4] = d.offset;
    lows[static_cast<size_t>(i)] = d.low;
  }
  // A GPU consumes thousands of images a second: resize on the (otherwise idle) intra-op pool.
  at::parallel_for(0, m, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      source_to_model(data_.image(data_.rows[static_cast<size_t>(order_[static_cast<size_t>(start + i)])]), input_,
                      out + i * sample);
      if (lows[static_cast<size_t>(i)] > 0) {
        degrade_resolution(out + i * sample, static_cast<int>(c), static_cast<int>(side), lows[static_cast<size_t>(i)]);
      }
    }
  });
  return batch;
}

DeviceAugment::DeviceAugment(const Normalization& norm, torch::Device device, bool augment) : augment_(augment) {
  const int64_t c = static_cast<int64_t>(norm.mean.size());
  std::vector<float> inv(norm.std.size());
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = 1.0f / norm.std[i];  // as normalize_pixels: multiply by 1/std
  mean_ = torch::tensor(norm.mean).view({1, c, 1, 1}).to(device);
  scale_ = torch::tensor(inv).view({1, c, 1, 1}).to(device);
}

torch::Tensor DeviceAugment::operator()(const torch::Tensor& pixels, const torch::Tensor& draws) const {
  const int64_t m = pixels.size(0), c = pixels.size(1), side = pixels.size(2);
  auto x = pixels.to(torch::kFloat).div_(255.0f);
  if (augment_) {
    // Translation with edge pixels replicated and the horizontal flip, as two gathers of clamped indices.
    const auto at = torch::arange(side, draws.options().dtype(torch::kLong)).unsqueeze(0);
    const auto sy = draws.select(1, 0).to(torch::kLong).unsqueeze(1), sx = draws.select(1, 1).to(torch::kLong).unsqueeze(1);
    const auto flip = draws.select(1, 2).gt(0.5f).unsqueeze(1);
    const auto rows = (at + sy).clamp(0, side - 1);
    const auto cols = (torch::where(flip, side - 1 - at, at) + sx).clamp(0, side - 1);
    x = x.gather(2, rows.view({m, 1, side, 1}).expand({m, c, side, side}))
            .gather(3, cols.view({m, 1, 1, side}).expand({m, c, side, side}));
    // Contrast around each image's mean, then brightness, clamped to [0, 1].
    const auto mean_px = x.mean({1, 2, 3}, /*keepdim=*/true);
    const auto gain = draws.select(1, 3).view({m, 1, 1, 1}), offset = draws.select(1, 4).view({m, 1, 1, 1});
    x = ((x - mean_px) * gain + mean_px + offset).clamp_(0.0f, 1.0f);
  }
  return x.sub_(mean_).mul_(scale_);
}

}  // namespace agegender
