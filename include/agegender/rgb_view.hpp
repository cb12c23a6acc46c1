#pragma once
// A borrowed RGB image (HWC, uint8, rows packed: row stride = width * 3), e.g. a frame or a face crop.
#include <cstdint>

namespace agegender {

struct RgbView {
  const uint8_t* pixels = nullptr;
  int height = 0, width = 0;
};

}  // namespace agegender
