#pragma once
// 128-d face descriptors with face-api's face_recognition_model (dlib's ResNet-34-style network) ported
// to LibTorch. A descriptor is biometric data: callers write it only when the user asks for it.
#include <memory>
#include <string>
#include <vector>

#include "agegender/rgb_view.hpp"

namespace agegender {

/// The face models folder: `flag` when given, else $AGEGENDER_MODELS, else "models/face-api".
std::string face_models_dir(const std::string& flag = "");

class FaceEmbedder {
 public:
  /// Loads face_recognition_model-weights_manifest.json from `models_dir`. Throws UsageError when the
  /// folder or manifest is missing (saying how to fetch it), RuntimeError when the weights are bad.
  /// `device`: cpu | cuda | auto.
  explicit FaceEmbedder(const std::string& models_dir, const std::string& device = "cpu");
  ~FaceEmbedder();
  FaceEmbedder(const FaceEmbedder&) = delete;
  FaceEmbedder& operator=(const FaceEmbedder&) = delete;

  /// One descriptor (128 floats, face-api's exact output: not normalised) per face, row-major.
  std::vector<float> embed(const std::vector<RgbView>& faces);
  /// face-api's preprocessing alone (3 x 150 x 150 floats), for batching by the caller.
  static void preprocess(const RgbView& face, float* chw);
  std::vector<float> embed_preprocessed(const float* chw, size_t count);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

inline constexpr int kDescriptorSize = 128;

}  // namespace agegender
