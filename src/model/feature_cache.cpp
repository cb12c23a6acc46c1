#include "model/feature_cache.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agegender/atomic_file.hpp"
#include "agegender/config.hpp"
#include "agegender/error.hpp"
#include "agegender/progress.hpp"

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr char kMagic[8] = {'A', 'G', 'F', 'E', 'A', 'T', 'C', '1'};
constexpr size_t kAlign = 64;

std::string file_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return fnv1a64_hex(s.str());
}

// FNV-1a over the bytes of every parameter and buffer of the blocks below `blocks`.
std::string frozen_weights_hash(FaceNetImpl& model, int blocks) {
  std::string bytes;
  const auto add = [&](const std::string& name, const torch::Tensor& t) {
    const auto c = t.detach().to(torch::kCPU).contiguous();
    bytes += name;
    bytes.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.nbytes()));
  };
  auto it = model.feature_extractor()->begin();
  for (int i = 0; i < blocks; ++i, ++it) {
    for (const auto& t : it->ptr()->named_parameters(true)) add(t.key(), t.value());
    for (const auto& t : it->ptr()->named_buffers(true)) add(t.key(), t.value());
  }
  return fnv1a64_hex(bytes);
}

size_t padded(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// The first top-level key whose value differs, as "weights_hash (a -> b)".
std::string key_change(const json& old_key, const json& new_key) {
  for (auto it = new_key.begin(); it != new_key.end(); ++it) {
    const json before = old_key.contains(it.key()) ? old_key.at(it.key()) : json();
    if (before != *it) return it.key() + " (" + before.dump() + " -> " + it->dump() + ")";
  }
  return "format";
}

// A valid cache of a lower cut of the same weights and data (any dtype), and its block count.
std::unique_ptr<FeatureCache> lower_cache(FaceNetImpl& model, const PreparedDataset& ds, const ModelInput& input, int* blocks) {
  for (int b = model.cut() - 1; b >= 1; --b) {
    const std::string path = FeatureCache::path_for(ds.dir, model, input, b);
    if (!fs::exists(path)) continue;
    try {
      auto c = std::make_unique<FeatureCache>(path);
      if (c->rows() == ds.rows.size() && c->key() == FeatureCache::key_for(model, ds, input, c->fp16(), b)) {
        *blocks = b;
        return c;
      }
    } catch (const RuntimeError&) {
    }
  }
  return nullptr;
}

// Streams rows x {original, flipped} of the cut's output into `path`, from `source` (the output of blocks
// [0, source_blocks)) or from the pixels.
void build(FaceNetImpl& model, const PreparedDataset& ds, const ModelInput& input, const json& key, const std::string& path,
           const FeatureCache::Options& o, const FeatureCache* source, int source_blocks) {
  std::vector<size_t> all(ds.rows.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const SplitData data = load_split(ds, all, AgeBinning::intuition());  // labels unused
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto probe = model.forward_below_cut(torch::zeros({1, input.channels, input.size, input.size}).to(o.device));
  const std::vector<int64_t> shape = {probe.size(1), probe.size(2), probe.size(3)};
  const json from = source ? json{{"blocks_below", source_blocks}, {"dtype", source->fp16() ? "fp16" : "fp32"}} : json("pixels");
  const std::string header_text = json{{"key", key}, {"shape", shape}, {"rows", all.size()}, {"from", from}}.dump();
  const auto t0 = std::chrono::steady_clock::now();
  int64_t done = 0, step = 0;
  // One batch: the cut's output for x and its mirror image, interleaved per row.
  const auto write_pair = [&](std::ostream& out, const torch::Tensor& a, const torch::Tensor& flipped, int from_block) {
    auto both = torch::stack({model.forward_blocks(from_block, model.cut(), a.to(o.device)),
                              model.forward_blocks(from_block, model.cut(), flipped.to(o.device))}, 1);  // [m, 2, C, H, W]
    both = both.to(o.fp16 ? torch::kHalf : torch::kFloat).to(torch::kCPU).contiguous();
    out.write(static_cast<const char*>(both.data_ptr()), static_cast<std::streamsize>(both.nbytes()));
    done += a.size(0);
    if (!o.quiet && (++step % 50 == 0 || done == data.size())) {
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), rate = done / std::max(el, 1e-9);
      spdlog::info("Feature cache: {}/{} images (x2 flips)  {:.1f} img/s  ETA {}", done, data.size(), rate,
                   format_duration((data.size() - done) / std::max(rate, 1e-9)));
    }
  };
  fs::create_directories(fs::path(path).parent_path());
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(kMagic, sizeof kMagic);
    const uint64_t len = header_text.size();
    out.write(reinterpret_cast<const char*>(&len), sizeof len);
    out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    const size_t used = sizeof kMagic + sizeof len + header_text.size();
    out.write(std::string(padded(used) - used, '\0').data(), static_cast<std::streamsize>(padded(used) - used));
    if (source) {
      for (size_t start = 0; start < all.size(); start += static_cast<size_t>(o.batch_size)) {
        const std::vector<size_t> rows(all.begin() + static_cast<std::ptrdiff_t>(start),
                                       all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), start + static_cast<size_t>(o.batch_size))));
        write_pair(out, source->gather(rows, std::vector<uint8_t>(rows.size(), 0)), source->gather(rows, std::vector<uint8_t>(rows.size(), 1)),
                   source_blocks);
      }
      return;
    }
    BatchLoader loader(data, input, o.batch_size, /*shuffle=*/false, nullptr, 0, 0);
    Batch b;
    while (loader.next(b)) write_pair(out, b.x, b.x.flip({3}), 0);
  });
  if (was_training) model.train();
}

}  // namespace

std::string FeatureCache::path_for(const std::string& prepared_dir, const FaceNetImpl& model, const ModelInput& input, int blocks) {
  const std::string name = model.block_name(blocks < 0 ? model.cut() : blocks);
  const std::string cut = name.empty() ? "top" : name;
  return (fs::path(prepared_dir) / "features" /
          (model.spec().arch + "_" + std::to_string(input.size) + "px_" + cut + ".feat")).string();
}

json FeatureCache::key_for(FaceNetImpl& model, const PreparedDataset& ds, const ModelInput& input, bool fp16, int blocks) {
  if (blocks < 0) blocks = model.cut();
  const fs::path images = fs::path(ds.dir) / kImageCacheFile;
  std::error_code ec;
  const auto mtime = fs::last_write_time(images, ec).time_since_epoch().count();
  return {{"format", 1},
          {"arch", model.spec().arch},
          {"cut", {{"blocks_below", blocks}, {"first_above", model.block_name(blocks)}}},
          {"weights_hash", frozen_weights_hash(model, blocks)},
          {"input", input.to_json()},
          {"data", {{"manifest_hash", file_fingerprint((fs::path(ds.dir) / kManifestFile).string())},
                    {"images_bytes", ec ? 0 : fs::file_size(images, ec)}, {"images_mtime", static_cast<int64_t>(mtime)}}},
          {"dtype", fp16 ? "fp16" : "fp32"}};
}

std::unique_ptr<FeatureCache> FeatureCache::open_or_build(FaceNetImpl& model, const PreparedDataset& ds, const ModelInput& input,
                                                          const Options& o) {
  if (model.cut() <= 0) throw RuntimeError("feature cache: the model has no frozen layers to cache");
  const std::string path = path_for(ds.dir, model, input);
  const json key = key_for(model, ds, input, o.fp16);
  std::string why;
  if (fs::exists(path)) {
    try {
      auto cache = std::make_unique<FeatureCache>(path);
      if (cache->key() == key && cache->rows() == ds.rows.size()) {
        if (!o.quiet) spdlog::info("Feature cache: reusing {} ({} images x 2 flips, {})", path, cache->rows(), json(cache->shape()).dump());
        return cache;
      }
      why = "its key changed: " + key_change(cache->key(), key);
    } catch (const RuntimeError& e) {
      why = std::string("it is unreadable: ") + e.what();
    }
  } else {
    why = "it does not exist yet";
  }
  int source_blocks = 0;
  const std::unique_ptr<FeatureCache> source = lower_cache(model, ds, input, &source_blocks);
  if (!o.quiet) {
    spdlog::info("Feature cache: building {} ({}); {} images x 2 flips through the frozen layers{}", path, why, ds.rows.size(),
                 source ? " above " + source->path() : "");
  }
  const auto t0 = std::chrono::steady_clock::now();
  build(model, ds, input, key, path, o, source.get(), source_blocks);
  auto cache = std::make_unique<FeatureCache>(path);
  cache->built_ = true;
  cache->build_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.quiet) {
    spdlog::info("Feature cache: built in {:.1f} s, {} per image pair ({}, {})", cache->build_seconds_, cache->item_bytes_ * 2,
                 json(cache->shape()).dump(), o.fp16 ? "fp16" : "fp32");
  }
  return cache;
}

FeatureCache::FeatureCache(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw RuntimeError("cannot open feature cache " + path + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  map_size_ = static_cast<size_t>(st.st_size);
  void* m = map_size_ > 0 ? ::mmap(nullptr, map_size_, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (m == MAP_FAILED) throw RuntimeError("cannot map feature cache " + path);
  map_ = static_cast<const uint8_t*>(m);
  const auto bad = [&](const std::string& what) {
    ::munmap(const_cast<uint8_t*>(map_), map_size_);
    map_ = nullptr;
    throw RuntimeError("feature cache " + path + ": " + what);
  };
  uint64_t len = 0;
  if (map_size_ < sizeof kMagic + sizeof len || std::memcmp(map_, kMagic, sizeof kMagic) != 0) bad("not a feature cache");
  std::memcpy(&len, map_ + sizeof kMagic, sizeof len);
  if (len > map_size_ - sizeof kMagic - sizeof len) bad("truncated header");
  const json header = json::parse(std::string(reinterpret_cast<const char*>(map_ + sizeof kMagic + sizeof len), len), nullptr, false);
  if (header.is_discarded() || !header.contains("key") || !header.contains("shape") || !header.contains("rows")) bad("bad header");
  key_ = header.at("key");
  shape_ = header.at("shape").get<std::vector<int64_t>>();
  rows_ = header.at("rows").get<uint64_t>();
  fp16_ = key_.value("dtype", "fp32") == "fp16";
  if (shape_.size() != 3) bad("bad shape");
  item_bytes_ = static_cast<size_t>(shape_[0] * shape_[1] * shape_[2]) * (fp16_ ? 2 : 4);
  data_offset_ = padded(sizeof kMagic + sizeof len + len);
  if (map_size_ != data_offset_ + rows_ * 2 * item_bytes_) bad("truncated (size " + std::to_string(map_size_) + ")");
}

FeatureCache::~FeatureCache() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

torch::Tensor FeatureCache::gather(const std::vector<size_t>& rows, const std::vector<uint8_t>& flips) const {
  const int64_t m = static_cast<int64_t>(rows.size());
  auto out = torch::empty({m, shape_[0], shape_[1], shape_[2]}, fp16_ ? torch::kHalf : torch::kFloat);
  auto* dst = static_cast<uint8_t*>(out.data_ptr());
  for (int64_t i = 0; i < m; ++i) {
    const size_t r = rows[static_cast<size_t>(i)];
    if (r >= rows_) throw RuntimeError("feature cache " + path_ + ": row " + std::to_string(r) + " out of range");
    std::memcpy(dst + static_cast<size_t>(i) * item_bytes_, map_ + data_offset_ + (r * 2 + (flips[static_cast<size_t>(i)] ? 1 : 0)) * item_bytes_,
                item_bytes_);
  }
  return fp16_ ? out.to(torch::kFloat) : out;
}

CachedBatchLoader::CachedBatchLoader(const FeatureCache& cache, const SplitData& data, int batch_size, bool shuffle,
                                     const AugmentConfig* augment, uint64_t seed, int epoch, bool with_flips)
    : cache_(cache), data_(data), batch_size_(batch_size), augment_(augment), seed_(seed), epoch_(epoch), with_flips_(with_flips),
      order_(epoch_order(data.size(), shuffle, seed, epoch)), num_batches_((data.size() + batch_size - 1) / batch_size) {}

bool CachedBatchLoader::next(Batch& out) {
  if (next_ >= num_batches_) return false;
  const int64_t b = next_++, start = b * batch_size_, m = std::min<int64_t>(batch_size_, data_.size() - start);
  out = Batch();
  gather_labels(data_, order_, start, m, out);
  std::mt19937_64 rng = batch_rng(seed_, epoch_, b);
  std::vector<size_t> rows(static_cast<size_t>(m));
  std::vector<uint8_t> flips(static_cast<size_t>(m), 0);
  for (int64_t i = 0; i < m; ++i) {
    rows[static_cast<size_t>(i)] = data_.rows[static_cast<size_t>(order_[static_cast<size_t>(start + i)])];
    if (augment_) flips[static_cast<size_t>(i)] = draw_augment(rng, *augment_, 0, 0).flip;
  }
  out.x = cache_.gather(rows, flips);
  if (with_flips_) {
    for (auto& f : flips) f = !f;
    out.x_flip = cache_.gather(rows, flips);
  }
  return true;
}

}  // namespace agegender
