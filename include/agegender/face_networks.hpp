#pragma once
// face-api's face detectors (SSD MobileNetV1, Tiny face detector) and 68-point landmark nets, ported to
// LibTorch (docs/face_models.md). Torch-free header; weights from the npm models folder
// (scripts/fetch_face_models.sh). Inference only; thread counts are the caller's business.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "agegender/rgb_view.hpp"

namespace agegender {

/// A face in image pixels: top-left corner, size, detector score in (0, 1).
struct FaceBox {
  float x = 0, y = 0, w = 0, h = 0, score = 0;
};

struct FaceDetectorOptions {
  float min_score = 0.5f;   // keep scores > min_score (face-api: minConfidence / scoreThreshold)
  int max_results = 100;    // at most this many faces (face-api caps SSD only; tiny is never near 100)
  int input_size = 416;     // tiny only: a multiple of 32
  int fit_side = 0;         // 0 = face-api's input (the image padded to a square, resized to 512 for SSD,
                            // input_size for Tiny); else the image resized so its long side is this many
                            // pixels, not padded to a square (a multiple of 32, 128..4096): cheaper on wide
                            // frames, and larger sides find smaller faces
  std::string device = "cpu";  // cpu | cuda | auto
};

/// FaceDetectorOptions::fit_side's domain: 0, or a multiple of 32 from 128 to 4096.
inline bool valid_fit_side(int side) { return side == 0 || (side >= 128 && side <= 4096 && side % 32 == 0); }

class FaceDetectorNet {
 public:
  enum class Kind { Ssd, Tiny };
  /// Loads ssd_mobilenetv1_model or tiny_face_detector_model from `models_dir`. Throws UsageError for a
  /// missing folder/manifest (saying how to fetch it) or bad options, RuntimeError for bad weights.
  FaceDetectorNet(Kind kind, const std::string& models_dir, const FaceDetectorOptions& options = {});
  ~FaceDetectorNet();
  FaceDetectorNet(const FaceDetectorNet&) = delete;
  FaceDetectorNet& operator=(const FaceDetectorNet&) = delete;

  /// Faces in `image` (any size), best score first, as face-api's locateFaces returns them.
  std::vector<FaceBox> detect(const RgbView& image);
  Kind kind() const;
  const FaceDetectorOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

using FacePoint = std::array<float, 2>;  // x, y in pixels
inline constexpr int kLandmarkCount = 68;

class LandmarkNet {
 public:
  /// face_landmark_68_model, or face_landmark_68_tiny_model when `tiny`. Errors as FaceDetectorNet.
  LandmarkNet(bool tiny, const std::string& models_dir, const std::string& device = "cpu");
  ~LandmarkNet();
  LandmarkNet(const LandmarkNet&) = delete;
  LandmarkNet& operator=(const LandmarkNet&) = delete;

  /// 68 points (dlib/iBUG order) in `face_crop`'s pixels; the whole crop is the face box. Points may
  /// fall slightly outside the crop.
  std::vector<FacePoint> landmarks(const RgbView& face_crop);
  /// One batch through the net; result[i] belongs to crops[i].
  std::vector<std::vector<FacePoint>> landmarks(const std::vector<RgbView>& face_crops);
  bool tiny() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agegender
