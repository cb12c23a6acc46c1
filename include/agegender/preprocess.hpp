#pragma once
// The one "image -> model input" contract, shared by prepare/training and by eval, predict and the face
// networks, so a face reaches a model the way its training images did:
//   1. region -> square (centre crop) -> RGB at `source_size` with area averaging   (prepare's cache)
//   2. source RGB -> `size` x `size`, gray when channels == 1, rounded to uint8        (source_to_model)
//   3. uint8 -> float (x / 255 - mean) / std per channel                               (normalize_pixels)
// A checkpoint records its ModelInput, so eval and predict repeat exactly what training did.
#include <nlohmann/json_fwd.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace agegender {

/// Per-channel normalisation of x in [0, 1].
struct Normalization {
  std::vector<float> mean, std;
  static Normalization plain(int channels);     // (x - 0.5) / 0.25
  static Normalization imagenet(int channels);  // torchvision's ImageNet statistics (gray: their channel means)
};

struct ModelInput {
  int size = 64;          // model input side
  int channels = 3;       // 3 = RGB, 1 = gray (ITU-R 601 luma of RGB)
  int source_size = 64;   // side of the square RGB image stage 2 starts from (the prepared cache's side)
  Normalization norm = Normalization::plain(3);

  nlohmann::json to_json() const;
  /// Validates every field (sizes in range, channels 1 or 3, one finite mean and one finite std > 0 per
  /// channel). Throws RuntimeError naming `origin` and the field.
  static ModelInput from_json(const nlohmann::json& j, const std::string& origin);
  void validate(const std::string& origin) const;
};

inline constexpr int kMaxInputSize = 1024;

/// Stage 2: `rgb` is source_size x source_size x 3 (HWC); writes channels x size x size (CHW) uint8.
/// Shrinking averages exact areas (adaptive average pooling), enlarging is bilinear (half-pixel centres).
void source_to_model(const uint8_t* rgb, const ModelInput& in, uint8_t* chw);
/// Training augmentation (`train.augment.downscale`): a channels x size x size uint8 image shrunk to
/// `low` x `low` (area) and enlarged back (bilinear), in place: the detail a small, far face has.
void degrade_resolution(uint8_t* chw, int channels, int size, int low);
/// Stage 3: channels x size x size uint8 -> float, normalised.
void normalize_pixels(const uint8_t* chw, const ModelInput& in, float* out);

}  // namespace agegender
