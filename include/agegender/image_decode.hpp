#pragma once
// Image bytes -> OpenCV images, with reasons for bad files (OpenCV builds only).
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>

namespace agegender {

/// Decodes to 8-bit BGR (grey, 16-bit, alpha and CMYK inputs are converted). Returns false with a reason
/// for empty, truncated or undecodable bytes; never throws for bad bytes.
bool decode_bgr(std::string_view bytes, cv::Mat* out, std::string* error);

/// Centre-crops to a square, resizes to size x size and writes size*size*3 RGB bytes (HWC) to `out`.
bool decode_square_rgb(std::string_view bytes, int size, uint8_t* out, std::string* error);

/// Resizes a BGR image to size x size RGB into `out` (area averaging when shrinking).
void bgr_to_rgb_square(const cv::Mat& bgr, int size, uint8_t* out);

}  // namespace agegender
