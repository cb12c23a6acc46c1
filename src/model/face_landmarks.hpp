#pragma once
// face-api's 68-point landmark nets (face_landmark_68_model: 4 dense blocks, 32..256 ch;
// face_landmark_68_tiny_model: 3 dense blocks, 32..128 ch): 112x112 face -> 136 values (x0, y0, x1, ...)
// relative to the padded square. Parameter names follow the TF.js names ("dense1.conv2.pointwise_filter").
#include <torch/torch.h>

#include <array>
#include <vector>

#include "agegender/face_api_input.hpp"
#include "model/tf_layers.hpp"

namespace agegender {

struct TfjsWeights;

inline constexpr int kLandmarkInput = 112;

/// o1 = relu(conv0(x)) (stride 2; a plain conv in dense0, separable otherwise), o2 = sep(conv1, o1),
/// o3 = sep(conv2, relu(o1 + o2)), [o4 = sep(conv3, relu(o1 + o2 + o3))], out relu(o1 + o2 + o3 [+ o4]).
class LandmarkDenseBlockImpl : public torch::nn::Module {
 public:
  LandmarkDenseBlockImpl(int64_t in, int64_t out, bool first, int convs);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  TfConv plain_{nullptr};
  std::vector<TfSeparableConv> sep_;  // conv0 (unless first), conv1, conv2[, conv3]
};
TORCH_MODULE(LandmarkDenseBlock);

class FaceLandmarkNetImpl : public torch::nn::Module {
 public:
  explicit FaceLandmarkNetImpl(bool tiny);
  /// [N, 3, 112, 112] preprocessed (landmark_input()) -> [N, 136] raw output.
  torch::Tensor forward(const torch::Tensor& x);
  bool tiny() const { return tiny_; }

  std::vector<LandmarkDenseBlock> dense;
  torch::nn::Linear fc{nullptr};

 private:
  bool tiny_;
};
TORCH_MODULE(FaceLandmarkNet);

/// Centred zero padding, 112 px, mean RGB (122.782, 117.001, 104.298) subtracted, / 255.
FaceApiInput landmark_input();

/// 136 raw outputs of one face -> 68 (x, y) in the pixels of the `height` x `width` input (face-api's
/// post-processing, which assumes symmetric padding even for an odd |h - w|).
std::vector<std::array<float, 2>> landmarks_to_pixels(const float* raw, int height, int width);

void load_face_landmarks_tfjs(FaceLandmarkNetImpl& net, const TfjsWeights& weights);

}  // namespace agegender
