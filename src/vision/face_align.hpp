#pragma once
// Alignment to UTKFace's framing: a similarity transform (rotation, uniform scale, shift) that puts a
// face's eye centres and mouth centre where they sit, on average, in UTKFace's aligned-and-cropped images,
// so a face cut from a scene reaches the age/gender model the way the training crops did.
#include <opencv2/core.hpp>
#include <vector>

namespace agegender {

/// Eye centres and mouth centre in UTKFace crops, as fractions of the crop side (x, y). Measured by
/// `bench_align_template` (mean over UTKFace test-split crops; see docs/benchmarks.md).
struct AlignTemplate {
  cv::Point2d left_eye, right_eye, mouth;  // "left" = the image's left (the person's right eye)
};
const AlignTemplate& utkface_template();

/// The three anchor points of 68 iBUG landmarks: mean of points 36-41, of 42-47, and of 48-67.
/// Throws std::invalid_argument unless there are 68 points.
std::vector<cv::Point2d> landmark_anchors(const std::vector<cv::Point2f>& landmarks68);

/// Least-squares similarity transform (2x3, CV_64F) taking `from` onto `to` (at least 2 pairs).
cv::Mat fit_similarity(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to);

/// The 2x3 transform from image pixels to a `side` x `side` crop in UTKFace's framing.
cv::Mat alignment_transform(const std::vector<cv::Point2f>& landmarks68, int side);

/// The UTKFace-framed crop's side in image pixels (how large the face is where it was found).
double aligned_side_in_image(const std::vector<cv::Point2f>& landmarks68);

/// The aligned `side` x `side` crop (edges replicated where it leaves the image). Shrinks by more than
/// 2x go through an area resize first, so a large face is not aliased.
cv::Mat align_face(const cv::Mat& bgr, const std::vector<cv::Point2f>& landmarks68, int side);

}  // namespace agegender
