#pragma once
// face-api's Tiny face detector (tiny_face_detector_model, Tiny-YOLOv2-like with separable convs):
// input_size x input_size (a multiple of 32) -> G x G x 5 anchors x (tx, ty, tw, th, objectness),
// G = input_size / 32. Parameter names follow the TF.js tensor names ("conv3.depthwise_filter").
#include <torch/torch.h>

#include <array>
#include <vector>

#include "agegender/face_api_input.hpp"
#include "agegender/face_networks.hpp"
#include "model/tf_layers.hpp"

namespace agegender {

struct TfjsWeights;

inline constexpr int kTinyAnchors = 5;
inline constexpr float kTinyIouThreshold = 0.4f;
/// Anchor (width, height) in grid cells.
inline constexpr std::array<std::array<double, 2>, kTinyAnchors> kTinyAnchorSizes = {
    {{1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061}, {4.266906, 5.178857}, {9.041765, 10.66308}}};

class TinyFaceDetectorImpl : public torch::nn::Module {
 public:
  TinyFaceDetectorImpl();
  /// [N, 3, S, S] preprocessed (tiny_input(S)) -> [N, 25, S/32, S/32] raw grid.
  torch::Tensor forward(const torch::Tensor& x);

  TfConv conv0{nullptr};
  std::vector<TfSeparableConv> convs;  // conv1..conv5
  TfConv conv8{nullptr};
};
TORCH_MODULE(TinyFaceDetector);

/// Zero padding bottom/right, `size` px, mean RGB (117.001, 114.697, 97.404) subtracted, / 255.
FaceApiInput tiny_input(int size);

/// A box relative to the image (x, y, w, h in [0, 1] units of width/height; not clipped) and its score.
struct TinyBox {
  double x = 0, y = 0, w = 0, h = 0;
  float score = 0;
};

/// Decodes one image's grid, given as [G, G, 25] (NHWC, row-major), keeping scores > min_score, in
/// (row, col, anchor) order. `height`/`width`: the original image's size.
std::vector<TinyBox> tiny_decode(const float* grid_hwc, int grid, int input_size, int height, int width, float min_score);

/// face-api's NMS for the tiny detector: repeatedly take the best remaining box (ties: the later one),
/// drop the others whose IoU with it is > iou_threshold. IoU on the boxes scaled by `input_size`.
/// Returns kept indices, best first.
std::vector<size_t> tiny_nms(const std::vector<TinyBox>& boxes, float iou_threshold, int input_size);

/// Raw output [1, 25, G, G] -> faces in pixels, best first (at most max_results).
std::vector<FaceBox> tiny_postprocess(const torch::Tensor& raw, int input_size, int height, int width, float min_score,
                                      int max_results);

/// The same for a fitted input (face_api_preprocess_fit, any R x C grid of 32 px cells): the image scaled
/// by scale_y, scale_x into the input; anchors in cells, so boxes in pixels (not clipped); NMS on pixel boxes.
std::vector<FaceBox> tiny_postprocess_fit(const torch::Tensor& raw, double scale_y, double scale_x, float min_score,
                                          int max_results);

void load_tiny_face_detector_tfjs(TinyFaceDetectorImpl& net, const TfjsWeights& weights);

}  // namespace agegender
