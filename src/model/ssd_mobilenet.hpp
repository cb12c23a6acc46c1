#pragma once
// face-api's SSD MobileNetV1 face detector (ssd_mobilenetv1_model): 512x512 input in [-1, 1] ->
// 5118 box encodings + class logits, decoded with the anchors stored in the weights, greedy NMS, mapped
// back to image pixels the way face-api does. Module/parameter names follow the TF.js tensor names
// ("MobilenetV1/Conv2d_3_depthwise/BatchNorm/gamma" -> "MobilenetV1.Conv2d_3_depthwise.BatchNorm.gamma").
#include <torch/torch.h>

#include <array>
#include <vector>

#include "agegender/face_api_input.hpp"
#include "agegender/face_networks.hpp"
#include "model/tf_layers.hpp"

namespace agegender {

struct TfjsWeights;

inline constexpr int kSsdInput = 512;
inline constexpr int64_t kSsdBoxes = 5118;
inline constexpr float kSsdIouThreshold = 0.5f;
inline constexpr double kSsdBatchNormEps = 0.0010000000474974513;

/// TF BatchNorm with the stored statistics: (x - moving_mean) / sqrt(moving_variance + eps) * gamma + beta.
class TfBatchNormImpl : public torch::nn::Module {
 public:
  explicit TfBatchNormImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor gamma, beta, moving_mean, moving_variance;
};
TORCH_MODULE(TfBatchNorm);

/// "Conv2d_i_depthwise": depthwise 3x3 ("depthwise_weights"), TF 'same', then BatchNorm, then ReLU6.
class SsdDepthwiseImpl : public torch::nn::Module {
 public:
  SsdDepthwiseImpl(int64_t channels, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor depthwise_weights;
  TfBatchNorm BatchNorm{nullptr};

 private:
  int64_t channels_, stride_;
};
TORCH_MODULE(SsdDepthwise);

struct SsdFeatures {
  torch::Tensor out, conv11;
};

/// "MobilenetV1": Conv2d_0_pointwise (3x3/2 conv) then 13 depthwise/pointwise pairs, all ReLU6.
class SsdBackboneImpl : public torch::nn::Module {
 public:
  SsdBackboneImpl();
  SsdFeatures forward(const torch::Tensor& x);

 private:
  TfConv conv0_{nullptr};
  std::vector<SsdDepthwise> depthwise_;
  std::vector<TfConv> pointwise_;
};
TORCH_MODULE(SsdBackbone);

/// "BoxPredictor_k": two 1x1 convs ("BoxEncodingPredictor", "ClassPredictor", "weights"/"biases").
class SsdBoxPredictorImpl : public torch::nn::Module {
 public:
  SsdBoxPredictorImpl(int64_t in, int64_t anchors);
  TfConv BoxEncodingPredictor{nullptr}, ClassPredictor{nullptr};
};
TORCH_MODULE(SsdBoxPredictor);

struct SsdRawOutput {
  torch::Tensor box_encodings;  // [N, 5118, 4] (ty, tx, th, tw)
  torch::Tensor class_logits;   // [N, 5118, 3]
  std::vector<std::array<int64_t, 2>> maps;  // each box predictor's map (height, width), finest first
};

/// "Prediction": the extra layers Conv2d_0..7_pointwise and BoxPredictor_0..5.
class SsdPredictionImpl : public torch::nn::Module {
 public:
  SsdPredictionImpl();
  SsdRawOutput forward(const SsdFeatures& features);

 private:
  std::vector<TfConv> extra_;
  std::vector<SsdBoxPredictor> predictors_;
};
TORCH_MODULE(SsdPrediction);

class SsdMobilenetV1Impl : public torch::nn::Module {
 public:
  SsdMobilenetV1Impl();
  /// [N, 3, 512, 512] preprocessed (ssd_input()) -> encodings and logits of the 5118 anchors.
  SsdRawOutput forward(const torch::Tensor& x);
  /// [5118, 4] anchors (ymin, xmin, ymax, xmax), normalised.
  torch::Tensor anchors() const { return extra_dim.view({kSsdBoxes, 4}); }

  SsdBackbone MobilenetV1{nullptr};
  SsdPrediction Prediction{nullptr};
  torch::Tensor extra_dim;  // "Output/extra_dim" [1, 5118, 4]
};
TORCH_MODULE(SsdMobilenetV1);

/// Zero padding bottom/right, 512 px, x / 127.5 - 1.
FaceApiInput ssd_input();

/// Anchors [M, 4] (ymin, xmin, ymax, xmax) + encodings [M, 4] (ty, tx, th, tw) -> boxes [M, 4]
/// (ymin, xmin, ymax, xmax): centre + t/10 * anchor size, size * exp(t/5).
torch::Tensor ssd_decode_boxes(const torch::Tensor& anchors, const torch::Tensor& encodings);

/// face-api's SSD NMS: candidates with score > min_score by descending score; a candidate is kept unless
/// its IoU (corners min/max-normalised; zero-area boxes have IoU 0) with a kept box is > iou_threshold;
/// stops at max_results. `boxes` is count x 4 (ymin, xmin, ymax, xmax). Returns kept indices in order.
std::vector<int64_t> ssd_nms(const float* boxes, const float* scores, int64_t count, int max_results,
                             float iou_threshold, float min_score);

/// Anchors (ymin, xmin, ymax, xmax) in input pixels for an input of any size, `maps` as the forward pass
/// gave them: each level keeps the anchor shapes it was trained with (the stored 512 px anchors' sizes in
/// pixels), centred on its cells like TF's grid generator (cell i at (i + 0.5) * input / cells). At a
/// 512 x 512 input these are the stored anchors times 512.
torch::Tensor ssd_anchors_for(const torch::Tensor& stored, const std::vector<std::array<int64_t, 2>>& maps, int64_t input_h,
                              int64_t input_w);

/// A normalised box (ymin, xmin, ymax, xmax) of the padded 512 square -> image pixels, clipped to the
/// padded square as face-api does (so a box may extend past the image's right/bottom edge).
FaceBox ssd_box_to_pixels(const float* box, float score, int height, int width);

/// The whole post-processing of one image's raw output: decode, sigmoid(logit 1), NMS, pixels.
std::vector<FaceBox> ssd_postprocess(const torch::Tensor& anchors, const torch::Tensor& encodings,
                                     const torch::Tensor& logits, int height, int width, float min_score, int max_results);

/// The same for a fitted input (face_api_preprocess_fit): `anchors` in input pixels (ssd_anchors_for), the
/// image scaled by scale_y, scale_x into the input; boxes clipped to the image.
std::vector<FaceBox> ssd_postprocess_fit(const torch::Tensor& anchors, const torch::Tensor& encodings, const torch::Tensor& logits,
                                         double scale_y, double scale_x, int height, int width, float min_score,
                                         int max_results);

/// Loads ssd_mobilenetv1_model's tensors (the graph's dead constants ignored). RuntimeError on mismatch.
void load_ssd_mobilenet_tfjs(SsdMobilenetV1Impl& net, const TfjsWeights& weights);

}  // namespace agegender
