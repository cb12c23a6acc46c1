#pragma once
// dlib's ResNet-34-style face descriptor network as face-api ships it (face_recognition_model): 150x150
// RGB -> 256-d pooled features -> 128-d descriptor. Module and parameter names follow the TF.js tensor
// names ("conv32_1/conv1/conv/filters" -> "conv32_1.conv1.conv.weight"), so the weights load by name.
// Layer-by-layer description: docs/face_models.md.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "agegender/face_api_input.hpp"
#include "agegender/preprocess.hpp"

namespace agegender {

struct TfjsWeights;

/// Per-channel affine x * weight + bias (face-api's "scale" layer: dlib's affine/BatchNorm).
class ChannelScaleImpl : public torch::nn::Module {
 public:
  explicit ChannelScaleImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
};
TORCH_MODULE(ChannelScale);

/// conv (with bias) -> channel scale; `valid` = no padding, else TF 'same' for stride 1.
class ScaledConvImpl : public torch::nn::Module {
 public:
  ScaledConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool valid);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv{nullptr};
  ChannelScale scale{nullptr};
};
TORCH_MODULE(ScaledConv);

/// relu(x + conv2(relu(conv1(x)))), or for a down block (stride 2, valid): the shortcut is a 2x2 average
/// pool zero-padded to the new channel count, and the main path is zero-padded bottom/right when the
/// valid convolution came out one pixel smaller than the pool.
class FaceResBlockImpl : public torch::nn::Module {
 public:
  FaceResBlockImpl(int64_t in, int64_t out, bool down);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool down_;
  ScaledConv conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(FaceResBlock);

/// relu(scale(conv 7x7/2 valid)) -> max-pool 3x3/2 valid: 150 -> 72 -> 35.
class FaceStemImpl : public torch::nn::Module {
 public:
  explicit FaceStemImpl(int64_t in_channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv{nullptr};
  ChannelScale scale{nullptr};
};
TORCH_MODULE(FaceStem);

/// The feature extractor as a Sequential with the TF.js block names ("conv32_down", "conv32_1", ...,
/// "conv256_down_out"): [N, C, S, S] -> [N, 256, s, s] (s = 2 at 150 px). Also the registry's
/// "face_resnet" features. `out_channels` receives 256.
torch::nn::Sequential make_face_resnet_features(int in_channels, int* out_channels);

class FaceResNetImpl : public torch::nn::Module {
 public:
  FaceResNetImpl();
  /// [N, 3, 150, 150] preprocessed (face_api_preprocess) -> [N, 256] pooled features.
  torch::Tensor pooled(const torch::Tensor& x) { return features->forward(x).mean({2, 3}); }
  /// [N, 256] -> [N, 128] descriptor (no bias, not normalised: face-api's exact output).
  torch::Tensor descriptor(const torch::Tensor& pooled) { return pooled.matmul(fc); }
  torch::Tensor forward(const torch::Tensor& x) { return descriptor(pooled(x)); }

  torch::nn::Sequential features{nullptr};
  torch::Tensor fc;  // [256, 128] as stored by TF.js
};
TORCH_MODULE(FaceResNet);

/// face-api's preprocessing for this net: centred zero padding, 150 px, mean RGB subtracted, / 255.
FaceApiInput face_resnet_input();
/// The same mean subtraction as a Normalization of x / 255 (mean / 255, std 1), for training on it.
Normalization face_resnet_normalization();
/// `path` names TF.js face recognition weights: a models folder or a *-weights_manifest.json.
bool is_face_resnet_tfjs(const std::string& path);
/// The manifest inside a models folder, or `path` itself.
std::string face_recognition_manifest(const std::string& path);
inline constexpr int kFaceResNetInput = 150;
inline constexpr int kFaceDescriptorSize = 128;

/// Copies face_recognition_model's TF.js tensors into `net` (layouts converted; every parameter must be
/// found with its shape and every tensor used). Throws RuntimeError naming the manifest and tensor.
void load_face_resnet_tfjs(FaceResNetImpl& net, const TfjsWeights& weights);
/// The same into a Sequential from make_face_resnet_features (the descriptor's fc is not needed).
void load_face_resnet_features_tfjs(torch::nn::Sequential& features, const TfjsWeights& weights);

}  // namespace agegender
