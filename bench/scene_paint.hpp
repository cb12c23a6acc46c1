#pragma once
// What the generated scenes are made of (the store day, the scene-face set): UTKFace crops of one split
// as `prepare` splits them, a shop background, and faces pasted into it with a soft oval edge.
#include <opencv2/core.hpp>
#include <random>
#include <string>
#include <vector>

#include "agegender/dataset_source.hpp"
#include "agegender/split.hpp"
#include "agegender/utkface.hpp"

namespace agegender::bench {

/// The crops of `splits` as `prepare` splits the archive (seed 42, 0.8/0.1/0.1, duplicate groups kept
/// together), one member per duplicate group, in archive order, not decoded.
struct SplitCrops {
  SourceListing source;
  std::vector<const SourceFile*> files;
  std::vector<FaceLabel> labels;
};
SplitCrops split_crops(const std::string& archive, const std::vector<Split>& splits);

/// A shop wall: a vertical gradient, shelves/posters/doors as rectangles, noise, blurred.
cv::Mat shop_background(int w, int h, std::mt19937& rng);

/// `crop` resized to `side` px, brightness times `gain`, the lower 2/5 covered by a shelf edge when
/// `occluded`, blended with a soft oval edge into `frame` centred at (x, y) (clipped at the frame's edges).
void paste_face(cv::Mat& frame, const cv::Mat& crop, double x, double y, int side, double gain, bool occluded);

}  // namespace agegender::bench
