#pragma once
// Faces for predict, embed and visitors: a detector (face-api's SSD or Tiny, or OpenCV's Haar cascade),
// optionally 68 landmarks and alignment, and each face cut in UTKFace's framing.
#include <opencv2/core.hpp>
#include <memory>
#include <opencv2/objdetect.hpp>
#include <string>
#include <vector>

#include "agegender/detection_flags.hpp"
#include "vision/detection_passes.hpp"

namespace agegender {

class FaceDetectorNet;
class LandmarkNet;

enum class DetectMode { None, Haar, Ssd, Tiny, Auto };
enum class AlignMode { Auto, On, Off };
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
  int fit_side = 0;         // ssd / tiny: 0 = face-api's square input; else the frame's long side in the input (FaceDetectorOptions)
  AlignMode align = AlignMode::Auto;  // auto: see FaceDetector::aligns()
  bool landmarks = false;   // run the landmark net even without alignment (output columns)
  bool tiny_landmarks = false;  // face_landmark_68_tiny_model instead of face_landmark_68_model
  bool small_faces = false;  // ssd / tiny: a second pass over overlapping upscaled tiles (tiled_pass)
  bool flip_pass = false;    // ssd / tiny: a pass over the mirrored frame (flipped_pass)
  bool bright_pass = false;  // ssd / tiny: a pass over the frame with its shadows lifted (brightened_pass)
  double rotation_pass = 0;  // ssd / tiny: passes over the frame rotated by +- this many degrees (0 = none)
  MergeRule merge;           // with extra passes: which faces under merge.sure_score stay
};

/// One face as the consumers (predict, embed, visitors) get it.
struct FoundFace {
  cv::Rect box;       // the detector's box grown to UTKFace's framing (image pixels; may leave the image)
  float score = 1;    // the detector's score
  std::vector<cv::Point2f> landmarks;  // 68 iBUG points in image pixels, when the landmark net ran
  cv::Mat crop;       // the face, square, UTKFace framing, BGR: aligned by the landmarks when alignment is
                      // on, else `box` cut from the image (a view into it: copy before the image goes)
};

/// --detect-passes' comma list (flip, rotate[:DEG], bright, tiles) into `o`; throws UsageError naming a bad item.
void parse_detect_passes(const std::string& list, DetectorOptions& o);
/// DetectorOptions from the command-line values (parses --detect, --align, --landmark-model, --detect-passes,
/// --vote-score).
DetectorOptions detector_options(const DetectionFlags& flags);
AlignMode parse_align_mode(const std::string& s);  // auto | on | off; throws UsageError

class FaceDetector {
 public:
  /// Throws UsageError when what the mode needs (cascade, face models) is missing or an option is bad.
  /// Auto is SSD when the face models are present, else Haar.
  explicit FaceDetector(const DetectorOptions& options, bool scenes_only = false);
  ~FaceDetector();
  /// The faces of `bgr`, top-to-bottom then left-to-right. None: the whole image. Auto: the whole image
  /// when it already looks like a single face crop (one face filling most of it, or no face in a
  /// near-square image). Landmarks when aligning or asked for. Not thread-safe (cascades and networks
  /// keep scratch state): one detector per worker thread.
  std::vector<FoundFace> detect(const cv::Mat& bgr) const;
  /// The detector's own boxes and scores (before framing), top-to-bottom then left-to-right.
  std::vector<Detection> raw(const cv::Mat& bgr) const;
  /// What Auto resolved to.
  DetectMode mode() const { return mode_; }
  /// Whether faces are aligned: On, or Auto with the landmark model present and a detector running.
  bool aligns() const { return align_; }

 private:
  std::vector<Detection> haar(const cv::Mat& bgr) const;
  std::vector<Detection> network(const cv::Mat& bgr) const;
  void add_landmarks(const cv::Mat& bgr, DetectMode mode, std::vector<FoundFace>& faces) const;

  DetectMode mode_;
  bool auto_, scenes_only_;  // scenes_only: video frames, where auto never falls back to the whole frame
  bool align_ = false;
  DetectorOptions options_;
  mutable cv::CascadeClassifier cascade_;
  std::unique_ptr<FaceDetectorNet> net_;
  std::unique_ptr<LandmarkNet> landmark_net_;
};

/// How a detector boxes a face, relative to the UTKFace crop the face came from: box width and height
/// over the crop's side, box centre minus crop centre as fractions of the side. Measured with clean
/// UTKFace crops pasted into frames (bench_detect_scenes prints its own calibration; docs/benchmarks.md).
/// None: the whole image is the crop.
struct BoxConvention {
  double w = 1, h = 1, dx = 0, dy = 0;
  /// The crop a detector box came from (square, image pixels).
  cv::Rect2d crop_of(const cv::Rect2d& box) const;
  /// The box this detector would give for `crop`.
  cv::Rect2d box_of(const cv::Rect2d& crop) const;
};
BoxConvention box_convention(DetectMode mode);

/// UTKFace's framing with a little slack for detector jitter: the crop `box` came from, grown 1.1x.
cv::Rect framed_face_box(const cv::Rect& box, DetectMode mode);

/// The crop for `box`, replicating edge pixels where the box leaves the image.
cv::Mat crop_face(const cv::Mat& bgr, const cv::Rect& box);

}  // namespace agegender
