#pragma once
// face-api's input convention (NetInput.toBatchTensor) for one RGB image, torch-free:
//   pad to a square with zeros (centred for the 112/150 px face nets, bottom/right for the detectors),
//   resize with TensorFlow's legacy bilinear (no half-pixel centres, no rounding), then
//   (x - mean[c]) / divisor.
// Neither OpenCV's INTER_LINEAR nor torch's interpolate matches that resize, so it is written out here.
#include <cstdint>

namespace agegender {

struct FaceApiInput {
  int size = 150;       // output side
  bool centered = true; // padding split around the image (else all of it after: bottom/right)
  float mean[3] = {122.782f, 117.001f, 104.298f};
  float divisor = 255.0f;
};

/// `rgb` is h x w x 3 (HWC, RGB); writes 3 x size x size floats (CHW) to `chw`.
void face_api_preprocess(const uint8_t* rgb, int h, int w, const FaceApiInput& in, float* chw);

/// The same resize and normalisation without the square: `rgb` (h x w) is resized to fit_h x fit_w at the
/// top-left of an out_h x out_w canvas (>= fit_h x fit_w) whose rest is zeros before normalisation, as
/// face-api pads. `in.size` and `in.centered` are not used. Writes 3 x out_h x out_w floats to `chw`.
void face_api_preprocess_fit(const uint8_t* rgb, int h, int w, int fit_h, int fit_w, int out_h, int out_w,
                             const FaceApiInput& in, float* chw);

}  // namespace agegender
