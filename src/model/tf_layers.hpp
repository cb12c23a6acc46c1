#pragma once
// Layers shared by the face-api detector and landmark ports (docs/face_models.md): TensorFlow 'same'
// padding (asymmetric: the odd pixel goes after) and convolutions whose parameter names follow the TF.js
// tensor names, so load_tfjs_parameters finds them ("conv1.depthwise_filter" <- "conv1/depthwise_filter").
#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>

namespace agegender {

/// TF 'same' padding of one axis of size `n` for a `k`-wide window of stride `s`: {before, after}, with
/// total max((ceil(n/s)-1)*s + k - n, 0) and floor(total/2) before.
std::pair<int64_t, int64_t> tf_same_pads(int64_t n, int64_t k, int64_t s);

/// Pads `x` ([N, C, H, W]) like TF 'same' for a k x k window of stride s; `value` fills (-inf for max pools).
torch::Tensor tf_same_pad(const torch::Tensor& x, int64_t k, int64_t s, double value = 0.0);

/// TF max-pool k x k / s with 'same' padding (padding never wins the max).
torch::Tensor tf_max_pool_same(const torch::Tensor& x, int64_t k, int64_t s);

/// conv2d (square kernel, equal stride/padding on both axes, no dilation); oneDNN for CPU float32 maps
/// whatever the thread count, else LibTorch's dispatch. `bias` may be undefined.
torch::Tensor tf_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
                        int64_t padding, int64_t groups);

/// Same: TF 'same'. Valid: none. One: one pixel on every side, then valid (the tiny face detector's
/// explicit tf.pad before its separable convs).
enum class TfPadding { Same, Valid, One };

/// Dense conv, parameters "weight" [out, in, k, k] (TF "filters" or "weights", HWIO on disk) and a bias
/// named `bias_name` ("bias", "biases" or "convolution_bn_offset"). No activation.
class TfConvImpl : public torch::nn::Module {
 public:
  TfConvImpl(int64_t in, int64_t out, int64_t k, int64_t stride, TfPadding padding, const std::string& bias_name = "bias");
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;

 private:
  int64_t k_, stride_;
  TfPadding padding_;
};
TORCH_MODULE(TfConv);

/// TF separableConv2d + bias: depthwise 3x3 "depthwise_filter" [C, 1, 3, 3] (stride `stride`), then
/// pointwise "pointwise_filter" [out, C, 1, 1], then "bias" [out]. No activation.
class TfSeparableConvImpl : public torch::nn::Module {
 public:
  TfSeparableConvImpl(int64_t in, int64_t out, int64_t stride, TfPadding padding);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor depthwise_filter, pointwise_filter, bias;

 private:
  int64_t channels_, stride_;
  TfPadding padding_;
};
TORCH_MODULE(TfSeparableConv);

/// Applies `padding` for a k x k / s window and runs `conv(x, pad)` where `pad` is a symmetric padding the
/// conv can do itself (0 when the padding had to be applied explicitly).
torch::Tensor tf_padded_conv(const torch::Tensor& x, int64_t k, int64_t s, TfPadding padding,
                             const std::function<torch::Tensor(const torch::Tensor&, int64_t)>& conv);

}  // namespace agegender
