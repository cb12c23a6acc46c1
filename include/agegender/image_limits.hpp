#pragma once
// The pixel cap of one decoded image (prepare and predict --max-pixels): a few KB of JPEG or PNG can
// claim 30000 x 30000 pixels, 2.7 GB once decoded.
#include <cstdint>
#include <string>

#include "agegender/error.hpp"

namespace agegender {

/// 40 megapixels: above any phone photo, 120 MB of BGR per decoding thread.
inline constexpr int64_t kDefaultMaxPixels = 40'000'000;

/// "" when width x height fits in max_pixels, else "W x H pixels, over the --max-pixels limit of M".
inline std::string pixels_over_cap(int64_t width, int64_t height, int64_t max_pixels) {
  if (width <= 0 || height <= 0 || width <= max_pixels / height) return "";
  return std::to_string(width) + " x " + std::to_string(height) + " pixels, over the --max-pixels limit of " +
         std::to_string(max_pixels);
}

/// Throws UsageError naming --max-pixels unless it is positive.
inline void check_max_pixels(int64_t max_pixels) {
  if (max_pixels < 1) throw UsageError("--max-pixels " + std::to_string(max_pixels) + ": expected a positive pixel count");
}

}  // namespace agegender
