#include "agegender/face_api_input.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace agegender {

namespace {

// TF legacy bilinear sampling positions along one axis: src = dst * in / out, neighbours floor(src) and
// floor(src) + 1, both clamped to the source.
struct Taps {
  std::vector<int> i0, i1;
  std::vector<float> frac;
  Taps(int in, int out) : i0(static_cast<size_t>(out)), i1(static_cast<size_t>(out)), frac(static_cast<size_t>(out)) {
    const double scale = static_cast<double>(in) / out;
    for (int o = 0; o < out; ++o) {
      const double src = in == out ? o : o * scale;
      i0[o] = std::min(static_cast<int>(std::floor(src)), in - 1);
      i1[o] = std::min(i0[o] + 1, in - 1);
      frac[o] = static_cast<float>(src - i0[o]);
    }
  }
};

// Resamples `source(y, x, c)` (src_h x src_w) to dst_h x dst_w into the top-left of a plane_h x plane_w
// CHW canvas (the rest left as written) and normalises.
template <typename Source>
void resample(const Source& source, int src_h, int src_w, int dst_h, int dst_w, int plane_h, int plane_w,
              const FaceApiInput& in, float* chw) {
  const Taps ty(src_h, dst_h), tx(src_w, dst_w);
  const size_t plane = static_cast<size_t>(plane_h) * plane_w;
  for (int y = 0; y < dst_h; ++y) {
    for (int x = 0; x < dst_w; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float tl = source(ty.i0[y], tx.i0[x], c), tr = source(ty.i0[y], tx.i1[x], c);
        const float bl = source(ty.i1[y], tx.i0[x], c), br = source(ty.i1[y], tx.i1[x], c);
        const float top_v = tl + (tr - tl) * tx.frac[x], bottom_v = bl + (br - bl) * tx.frac[x];
        const float v = top_v + (bottom_v - top_v) * ty.frac[y];
        chw[c * plane + static_cast<size_t>(y) * plane_w + x] = (v - in.mean[c]) / in.divisor;
      }
    }
  }
}

}  // namespace

void face_api_preprocess(const uint8_t* rgb, int h, int w, const FaceApiInput& in, float* chw) {
  // Zero padding to a square of side `side`. Centred: Math.round(diff / 2) after, the rest before.
  const int side = std::max(h, w), diff = side - std::min(h, w);
  const int after = in.centered ? static_cast<int>(std::floor(diff / 2.0 + 0.5)) : diff;
  const int before = diff - after;
  const int top = h < w ? before : 0, left = w < h ? before : 0;
  auto padded = [&](int y, int x, int c) -> float {
    const int sy = y - top, sx = x - left;
    if (sy < 0 || sy >= h || sx < 0 || sx >= w) return 0.0f;
    return rgb[(static_cast<size_t>(sy) * w + sx) * 3 + c];
  };
  resample(padded, side, side, in.size, in.size, in.size, in.size, in, chw);
}

void face_api_preprocess_fit(const uint8_t* rgb, int h, int w, int fit_h, int fit_w, int out_h, int out_w,
                             const FaceApiInput& in, float* chw) {
  auto pixel = [&](int y, int x, int c) -> float { return rgb[(static_cast<size_t>(y) * w + x) * 3 + c]; };
  // The canvas beyond the image: zero pixels, normalised like face-api's padding.
  const size_t plane = static_cast<size_t>(out_h) * out_w;
  for (int c = 0; c < 3; ++c) std::fill(chw + c * plane, chw + (c + 1) * plane, (0.0f - in.mean[c]) / in.divisor);
  resample(pixel, h, w, fit_h, fit_w, out_h, out_w, in, chw);
}

}  // namespace agegender
