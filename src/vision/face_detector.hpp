#pragma once
// Face boxes for predict: OpenCV's Haar frontal-face cascade (opencv-data), with a UTKFace-like margin.
#include <opencv2/core.hpp>
#include <opencv2/objdetect.hpp>
#include <string>
#include <vector>

namespace agegender {

enum class DetectMode { None, Haar, Auto };
DetectMode parse_detect_mode(const std::string& s);  // throws UsageError

/// The cascade shipped by opencv-data, or "" when not installed.
std::string default_cascade_path();

class FaceDetector {
 public:
  /// Throws UsageError when the cascade is needed but missing or unreadable.
  FaceDetector(DetectMode mode, const std::string& cascade_path, bool scenes_only = false);
  /// Face crops' boxes in image coordinates, possibly extending past the borders (crop_face pads).
  /// None: the whole image. Auto: Haar, but the whole image when the image already looks like a single
  /// face crop (one face filling most of it, or no face found in a near-square image).
  /// Not thread-safe (the cascade keeps scratch state): one detector per worker thread.
  std::vector<cv::Rect> detect(const cv::Mat& bgr) const;
  /// The cascade's own boxes (before the margin), top-to-bottom then left-to-right.
  std::vector<cv::Rect> haar(const cv::Mat& bgr) const;

 private:
  DetectMode mode_;
  bool scenes_only_;  // video frames: auto never falls back to the whole frame
  mutable cv::CascadeClassifier cascade_;
};

/// A square box of `scale` x the Haar box's side around its centre. On real UTKFace crops pasted into
/// scenes the Haar box side is 1.01 x the crop's (measured by the integration test), so the default
/// 1.1 reproduces UTKFace's framing with a little slack for detector jitter.
cv::Rect expand_face_box(const cv::Rect& box, double scale = 1.1);
/// The crop for `box`, replicating edge pixels where the box leaves the image.
cv::Mat crop_face(const cv::Mat& bgr, const cv::Rect& box);

}  // namespace agegender
