#pragma once
// Extra detection passes over transformed copies of a frame (test-time augmentation for detectors):
// a mirrored frame, frames rotated by +-degrees, overlapping upscaled tiles for small faces. Each maps its
// boxes back to the frame; merge_detections() then keeps one box per face.
#include <functional>
#include <opencv2/core.hpp>
#include <vector>

namespace agegender {

/// A detector's own box, in image pixels, and its score (Haar and none: 1).
struct Detection {
  cv::Rect box;
  float score = 1;
};

using DetectFn = std::function<std::vector<Detection>(const cv::Mat& rgb)>;

/// Mirrored frame: recovers faces a detector misses only on one side (turned heads, lopsided light).
std::vector<Detection> flipped_pass(const DetectFn& detect, const cv::Mat& rgb);

/// The frame rotated by `degrees` about its centre (corners filled with the edge): finds faces tilted by
/// about that much. Boxes come back centred on the face, with the rotated pass's size.
std::vector<Detection> rotated_pass(const DetectFn& detect, const cv::Mat& rgb, double degrees);

/// The frame with its shadows lifted (gamma 0.5): dim faces reach the contrast the detector was trained on.
std::vector<Detection> brightened_pass(const DetectFn& detect, const cv::Mat& rgb);

/// Overlapping tiles of 40 % of the long side, each given to `detect` whole (so the network sees it
/// enlarged); keeps only finds smaller than a third of a tile (the main pass sees the larger ones).
std::vector<Detection> tiled_pass(const DetectFn& detect, const cv::Mat& rgb);

/// Which merged faces stay: a face scoring at least `sure_score` always, a weaker one when at least
/// `min_votes` passes (the main one included) found it. The defaults keep every face.
struct MergeRule {
  int min_votes = 1;
  float sure_score = 1.0f;
};

/// One box per face from the main pass's boxes (`primary`, already one per face) and each extra pass's
/// (`extra`, one list per pass): an extra box overlapping a kept face by IoU > 0.3 is that face again (a
/// vote; the face keeps its box, which for a main-pass face is the main pass's: the passes add faces, the
/// main pass frames them, and takes the higher score); else, by descending score, it is a new face.
std::vector<Detection> merge_detections(const std::vector<Detection>& primary, const std::vector<std::vector<Detection>>& extra,
                                        const MergeRule& rule = {});

}  // namespace agegender
