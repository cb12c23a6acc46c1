#pragma once
// Image bytes -> OpenCV images, with reasons for bad files (OpenCV builds only).
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>

#include "agegender/image_limits.hpp"

namespace agegender {

/// Decodes JPEG, PNG, BMP, WebP or TIFF to 8-bit BGR (grey, 16-bit, alpha and CMYK inputs are converted;
/// EXIF orientation applied). The header's width x height is checked against `max_pixels` before any
/// pixel memory is allocated. Returns false with a reason for empty, truncated, corrupt (libjpeg warnings
/// included), oversized or other-format bytes; never throws.
bool decode_bgr(std::string_view bytes, cv::Mat* out, std::string* error, int64_t max_pixels = kDefaultMaxPixels);

/// Stage 1 of the preprocessing contract (preprocess.hpp): centre-crops to a square, resizes to
/// size x size (area averaging when shrinking) and writes size*size*3 RGB bytes (HWC) to `out`.
void center_square_rgb(const cv::Mat& bgr, int size, uint8_t* out);

/// Decodes, then center_square_rgb: what `prepare` stores for every image.
bool decode_square_rgb(std::string_view bytes, int size, uint8_t* out, std::string* error,
                       int64_t max_pixels = kDefaultMaxPixels);

/// Resizes a BGR image to size x size RGB into `out` (area averaging when shrinking).
void bgr_to_rgb_square(const cv::Mat& bgr, int size, uint8_t* out);

}  // namespace agegender
