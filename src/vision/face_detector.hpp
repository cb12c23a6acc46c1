#pragma once
// Face boxes for predict: OpenCV's Haar frontal-face cascade (opencv-data), with a UTKFace-like margin.
#include <opencv2/core.hpp>
#include <memory>
#include <opencv2/objdetect.hpp>
#include <string>
#include <vector>

namespace agegender {

class FaceDetectorNet;

enum class DetectMode { None, Haar, Ssd, Tiny, Auto };
DetectMode parse_detect_mode(const std::string& s);  // none | haar | ssd | tiny | auto; throws UsageError

/// The cascade shipped by opencv-data, or "" when not installed.
std::string default_cascade_path();

struct DetectorOptions {
  DetectMode mode = DetectMode::Auto;
  std::string cascade;      // haar: cascade XML ("" = opencv-data's frontal face cascade)
  std::string models;       // ssd / tiny / auto: face models folder ("" = $AGEGENDER_MODELS or models/face-api)
  float min_score = 0.5f;   // ssd / tiny: keep faces scoring above this
  int min_face = 0;         // drop faces whose detected box side is below this many pixels
  int tiny_input = 416;     // tiny: network input side (multiple of 32)
};

/// DetectorOptions from the command-line values (parses --detect).
DetectorOptions detector_options(const std::string& detect, const std::string& cascade, const std::string& models,
                                 float min_score, int min_face);

class FaceDetector {
 public:
  /// Throws UsageError when what the mode needs (cascade, face models) is missing or an option is bad.
  /// Auto is SSD when the face models are present, else Haar.
  explicit FaceDetector(const DetectorOptions& options, bool scenes_only = false);
  ~FaceDetector();
  /// Face crops' boxes in image coordinates, squared and grown to UTKFace's framing, possibly extending
  /// past the borders (crop_face pads). None: the whole image. Auto: the whole image when it already
  /// looks like a single face crop (one face filling most of it, or no face in a near-square image).
  /// Not thread-safe (cascades and networks keep scratch state): one detector per worker thread.
  std::vector<cv::Rect> detect(const cv::Mat& bgr) const;
  /// The detector's own boxes (before framing), top-to-bottom then left-to-right.
  std::vector<cv::Rect> raw(const cv::Mat& bgr) const;
  /// What Auto resolved to.
  DetectMode mode() const { return mode_; }

 private:
  std::vector<cv::Rect> haar(const cv::Mat& bgr) const;
  std::vector<cv::Rect> network(const cv::Mat& bgr) const;

  DetectMode mode_;
  bool auto_, scenes_only_;  // scenes_only: video frames, where auto never falls back to the whole frame
  DetectorOptions options_;
  mutable cv::CascadeClassifier cascade_;
  std::unique_ptr<FaceDetectorNet> net_;
};

/// Box side growth that turns a detector's box into UTKFace's framing (the crop a model was trained on):
/// Haar's box is about the crop's side already (1.01x, measured); face-api's detectors box the face
/// tighter (measured in tests/test_integration_predict.cpp).
double framing_scale(DetectMode mode);

/// A square box of `scale` x the Haar box's side around its centre. On real UTKFace crops pasted into
/// scenes the Haar box side is 1.01 x the crop's (measured by the integration test), so the default
/// 1.1 reproduces UTKFace's framing with a little slack for detector jitter.
cv::Rect expand_face_box(const cv::Rect& box, double scale = 1.1);
/// The crop for `box`, replicating edge pixels where the box leaves the image.
cv::Mat crop_face(const cv::Mat& bgr, const cv::Rect& box);

}  // namespace agegender
