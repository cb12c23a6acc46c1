#include "agegender/preprocess.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "agegender/error.hpp"

namespace agegender {
using nlohmann::json;

Normalization Normalization::plain(int channels) {
  return {std::vector<float>(static_cast<size_t>(channels), 0.5f), std::vector<float>(static_cast<size_t>(channels), 0.25f)};
}

Normalization Normalization::imagenet(int channels) {
  if (channels == 1) return {{0.449f}, {0.226f}};
  return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
}

json ModelInput::to_json() const {
  return {{"size", size}, {"channels", channels}, {"source_size", source_size}, {"crop", "center"},
          {"resize", "area"}, {"mean", norm.mean}, {"std", norm.std}};
}

void ModelInput::validate(const std::string& origin) const {
  const auto bad = [&](const std::string& what) { throw RuntimeError(origin + ": input " + what); };
  if (size < 1 || size > kMaxInputSize) bad("size " + std::to_string(size) + " is outside 1.." + std::to_string(kMaxInputSize));
  if (source_size < 1 || source_size > 4 * kMaxInputSize) bad("source_size " + std::to_string(source_size) + " is out of range");
  if (channels != 1 && channels != 3) bad("channels " + std::to_string(channels) + " (expected 1 or 3)");
  if (norm.mean.size() != static_cast<size_t>(channels) || norm.std.size() != static_cast<size_t>(channels)) {
    bad("normalisation needs one mean and one std per channel (" + std::to_string(channels) + "), found " +
        std::to_string(norm.mean.size()) + " and " + std::to_string(norm.std.size()));
  }
  for (size_t c = 0; c < norm.mean.size(); ++c) {
    if (!std::isfinite(norm.mean[c])) bad("mean[" + std::to_string(c) + "] is not finite");
    if (!std::isfinite(norm.std[c]) || !(norm.std[c] > 1e-6f)) bad("std[" + std::to_string(c) + "] must be finite and > 0");
  }
}

ModelInput ModelInput::from_json(const json& j, const std::string& origin) {
  ModelInput in;
  try {
    in.size = j.at("size").get<int>();
    in.channels = j.at("channels").get<int>();
    in.source_size = j.at("source_size").get<int>();
    in.norm.mean = j.at("mean").get<std::vector<float>>();
    in.norm.std = j.at("std").get<std::vector<float>>();
    if (j.value("crop", "center") != "center" || j.value("resize", "area") != "area") {
      throw RuntimeError(origin + ": input crop/resize policy " + j.value("crop", "") + "/" + j.value("resize", "") +
                         " is not supported by this version");
    }
  } catch (const json::exception& e) {
    throw RuntimeError(origin + ": bad input metadata: " + e.what());
  }
  in.validate(origin);
  return in;
}

namespace {

// Area averaging with adaptive-average-pooling windows [floor(i*S/s), ceil((i+1)*S/s)).
void shrink_plane(const float* src, int S, float* dst, int s) {
  for (int oy = 0; oy < s; ++oy) {
    const int y0 = oy * S / s, y1 = ((oy + 1) * S + s - 1) / s;
    for (int ox = 0; ox < s; ++ox) {
      const int x0 = ox * S / s, x1 = ((ox + 1) * S + s - 1) / s;
      float sum = 0;
      for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) sum += src[y * S + x];
      }
      dst[oy * s + ox] = sum / static_cast<float>((y1 - y0) * (x1 - x0));
    }
  }
}

// Bilinear with half-pixel centres (align_corners = false), edges clamped.
void enlarge_plane(const float* src, int S, float* dst, int s) {
  const float scale = static_cast<float>(S) / static_cast<float>(s);
  auto coord = [&](int o, int* i0, int* i1, float* w) {
    const float f = std::max(0.0f, (static_cast<float>(o) + 0.5f) * scale - 0.5f);
    *i0 = std::min(static_cast<int>(f), S - 1);
    *i1 = std::min(*i0 + 1, S - 1);
    *w = f - static_cast<float>(*i0);
  };
  for (int oy = 0; oy < s; ++oy) {
    int y0, y1;
    float wy;
    coord(oy, &y0, &y1, &wy);
    for (int ox = 0; ox < s; ++ox) {
      int x0, x1;
      float wx;
      coord(ox, &x0, &x1, &wx);
      // PyTorch's upsample_bilinear2d arithmetic, so rounding ties fall the same way as F::interpolate.
      dst[oy * s + ox] = (1 - wy) * ((1 - wx) * src[y0 * S + x0] + wx * src[y0 * S + x1]) +
                         wy * ((1 - wx) * src[y1 * S + x0] + wx * src[y1 * S + x1]);
    }
  }
}

}  // namespace

namespace {

// Colour shrink by a whole factor k (128 -> 64, the usual cache -> model step), straight from interleaved
// uint8: k x k integer sums, the same values as the general path (exact sums of integers, then one
// division and rounding), several times faster. It runs for every training image of every epoch.
bool shrink_rgb_by_whole_factor(const uint8_t* rgb, int S, int s, uint8_t* chw) {
  if (S % s != 0) return false;
  const int k = S / s;
  const float area = static_cast<float>(k * k);
  const size_t plane = static_cast<size_t>(s) * s;
  for (int oy = 0; oy < s; ++oy) {
    for (int ox = 0; ox < s; ++ox) {
      uint32_t sum[3] = {0, 0, 0};
      for (int dy = 0; dy < k; ++dy) {
        const uint8_t* row = rgb + (static_cast<size_t>(oy * k + dy) * S + static_cast<size_t>(ox) * k) * 3;
        for (int dx = 0; dx < 3 * k; dx += 3) {
          sum[0] += row[dx];
          sum[1] += row[dx + 1];
          sum[2] += row[dx + 2];
        }
      }
      for (int c = 0; c < 3; ++c) {
        chw[c * plane + static_cast<size_t>(oy) * s + ox] =
            static_cast<uint8_t>(std::nearbyint(static_cast<float>(sum[c]) / area));
      }
    }
  }
  return true;
}

}  // namespace

void source_to_model(const uint8_t* rgb, const ModelInput& in, uint8_t* chw) {
  const int S = in.source_size, s = in.size, C = in.channels;
  if (C == 3 && S > s && shrink_rgb_by_whole_factor(rgb, S, s, chw)) return;
  const size_t src_plane = static_cast<size_t>(S) * S, dst_plane = static_cast<size_t>(s) * s;
  thread_local std::vector<float> planes, out;  // reused: this runs once per image per epoch
  planes.resize(src_plane * C);
  out.resize(dst_plane);
  for (size_t p = 0; p < src_plane; ++p) {
    const uint8_t* px = rgb + 3 * p;
    if (C == 1) {
      planes[p] = 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
    } else {
      for (int c = 0; c < 3; ++c) planes[c * src_plane + p] = px[c];
    }
  }
  for (int c = 0; c < C; ++c) {
    const float* src = planes.data() + c * src_plane;
    if (S > s) {
      shrink_plane(src, S, out.data(), s);
    } else if (S < s) {
      enlarge_plane(src, S, out.data(), s);
    } else {
      std::copy(src, src + src_plane, out.begin());
    }
    uint8_t* dst = chw + c * dst_plane;
    for (size_t p = 0; p < dst_plane; ++p) dst[p] = static_cast<uint8_t>(std::clamp(std::nearbyint(out[p]), 0.0f, 255.0f));
  }
}

void degrade_resolution(uint8_t* chw, int channels, int size, int low) {
  const size_t plane = static_cast<size_t>(size) * size;
  thread_local std::vector<float> full, small;
  full.resize(plane);
  small.resize(static_cast<size_t>(low) * low);
  for (int c = 0; c < channels; ++c) {
    uint8_t* px = chw + c * plane;
    std::copy(px, px + plane, full.begin());
    shrink_plane(full.data(), size, small.data(), low);
    enlarge_plane(small.data(), low, full.data(), size);
    for (size_t p = 0; p < plane; ++p) px[p] = static_cast<uint8_t>(std::clamp(std::nearbyint(full[p]), 0.0f, 255.0f));
  }
}

void normalize_pixels(const uint8_t* chw, const ModelInput& in, float* out) {
  const size_t plane = static_cast<size_t>(in.size) * in.size;
  for (int c = 0; c < in.channels; ++c) {
    const float mean = in.norm.mean[static_cast<size_t>(c)], inv = 1.0f / in.norm.std[static_cast<size_t>(c)];
    for (size_t p = 0; p < plane; ++p) out[c * plane + p] = (chw[c * plane + p] / 255.0f - mean) * inv;
  }
}

}  // namespace agegender
