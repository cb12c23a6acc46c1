#pragma once
// JPEG/PNG/... bytes -> centre-cropped square RGB uint8 of a given size (OpenCV builds only).
#include <cstdint>
#include <string>
#include <string_view>

namespace agegender {

/// Writes size*size*3 bytes (HWC, RGB) to `out`. Returns false with a reason for unreadable, truncated or
/// empty images; never throws for bad bytes.
bool decode_square_rgb(std::string_view bytes, int size, uint8_t* out, std::string* error);

}  // namespace agegender
