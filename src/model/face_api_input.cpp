#include "agegender/face_api_input.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace agegender {

void face_api_preprocess(const uint8_t* rgb, int h, int w, const FaceApiInput& in, float* chw) {
  // 1. Zero padding to a square of side `side`. Centred: Math.round(diff / 2) after, the rest before.
  const int side = std::max(h, w), diff = side - std::min(h, w);
  const int after = in.centered ? static_cast<int>(std::floor(diff / 2.0 + 0.5)) : diff;
  const int before = diff - after;
  const int top = h < w ? before : 0, left = w < h ? before : 0;
  auto padded = [&](int y, int x, int c) -> float {
    const int sy = y - top, sx = x - left;
    if (sy < 0 || sy >= h || sx < 0 || sx >= w) return 0.0f;
    return rgb[(static_cast<size_t>(sy) * w + sx) * 3 + c];
  };
  // 2. TF legacy bilinear: src = dst * in/out, neighbours floor(src) and floor(src) + 1 (clamped).
  const int s = in.size;
  const double scale = static_cast<double>(side) / s;
  std::vector<int> i0(static_cast<size_t>(s)), i1(static_cast<size_t>(s));
  std::vector<float> frac(static_cast<size_t>(s));
  for (int o = 0; o < s; ++o) {
    const double src = side == s ? o : o * scale;
    i0[o] = std::min(static_cast<int>(std::floor(src)), side - 1);
    i1[o] = std::min(i0[o] + 1, side - 1);
    frac[o] = static_cast<float>(src - i0[o]);
  }
  const size_t plane = static_cast<size_t>(s) * s;
  for (int y = 0; y < s; ++y) {
    for (int x = 0; x < s; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float tl = padded(i0[y], i0[x], c), tr = padded(i0[y], i1[x], c);
        const float bl = padded(i1[y], i0[x], c), br = padded(i1[y], i1[x], c);
        const float top_v = tl + (tr - tl) * frac[x], bottom_v = bl + (br - bl) * frac[x];
        const float v = top_v + (bottom_v - top_v) * frac[y];
        // 3. Normalise.
        chw[c * plane + static_cast<size_t>(y) * s + x] = (v - in.mean[c]) / in.divisor;
      }
    }
  }
}

}  // namespace agegender
