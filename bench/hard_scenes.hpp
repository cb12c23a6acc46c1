#pragma once
// Hard composed scenes for the detection bench and the SSD fine-tune: UTKFace crops pasted into frames at
// 32-240 px (by default), rotated up to +-20 degrees, brightness 0.4x-1.6x, a quarter occluded now and
// then, JPEG quality 30-90, plus frames with no face (textures, a face-like pattern). The bench's frames
// come from the default style and a fixed seed, so its numbers stay comparable across sessions.
#include <opencv2/core.hpp>

#include <random>
#include <vector>

#include "test_crops.hpp"

namespace agegender::bench {

struct Pasted {
  cv::Rect2d at;  // where the crop's square sits (before rotation)
  size_t crop = 0;
  double angle = 0, gain = 1;  // rotation (degrees) and brightness factor
  bool occluded = false;
};

struct Scene {
  std::vector<uchar> jpeg;
  cv::Mat bgr;  // decoded from `jpeg`
  std::vector<Pasted> faces;
};

struct SceneStyle {
  int width = 640, height = 480;
  int min_side = 32, max_side = 240;
  int max_faces = 4;
  // false: the bench's occluder (a flat grey block over the lower two thirds). true: what a training set
  // needs to generalise past that one pattern: blocks, ellipses and noise patches of any colour, anywhere
  // on the face, a quarter of its area or less.
  bool varied_occluders = false;
  // true: 0-24 flat shapes (boxes, ellipses, thick lines) of random colours on the background, as shop
  // shelves, signs and doors give, so a detector trained on these scenes learns they are not faces.
  bool clutter = false;
};

/// One scene; crops are used in order from `next` (wrapping), `next` advances.
Scene make_scene(const std::vector<TestCrop>& crops, std::mt19937& rng, size_t& next, const SceneStyle& style = {});

}  // namespace agegender::bench
