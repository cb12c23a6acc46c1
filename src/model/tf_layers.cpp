#include "model/tf_layers.hpp"

#include <limits>

namespace agegender {
namespace F = torch::nn::functional;

torch::Tensor tf_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
                        int64_t padding, int64_t groups) {
  // LibTorch 1.13 sends 1x1 convs on one thread to its own im2col + BLAS path, which is several times
  // slower here than oneDNN's (measured: SSD 512 one thread ~260 ms vs ~85 ms at two threads, where it
  // picks oneDNN); call oneDNN directly for CPU float32 maps.
  if (x.device().is_cpu() && x.scalar_type() == torch::kFloat && at::hasMKLDNN() && at::globalContext().userEnabledMkldnn()) {
    return torch::mkldnn_convolution(x, weight, bias.defined() ? c10::optional<torch::Tensor>(bias) : c10::nullopt,
                                     {padding, padding}, {stride, stride}, {1, 1}, groups);
  }
  return F::conv2d(x, weight, F::Conv2dFuncOptions().bias(bias).stride(stride).padding(padding).groups(groups));
}

std::pair<int64_t, int64_t> tf_same_pads(int64_t n, int64_t k, int64_t s) {
  const int64_t out = (n + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - n, 0);
  return {total / 2, total - total / 2};
}

torch::Tensor tf_same_pad(const torch::Tensor& x, int64_t k, int64_t s, double value) {
  const auto [top, bottom] = tf_same_pads(x.size(2), k, s);
  const auto [left, right] = tf_same_pads(x.size(3), k, s);
  if (top == 0 && bottom == 0 && left == 0 && right == 0) return x;
  return F::pad(x, F::PadFuncOptions({left, right, top, bottom}).value(value));
}

torch::Tensor tf_max_pool_same(const torch::Tensor& x, int64_t k, int64_t s) {
  return F::max_pool2d(tf_same_pad(x, k, s, -std::numeric_limits<double>::infinity()), F::MaxPool2dFuncOptions(k).stride(s));
}

torch::Tensor tf_padded_conv(const torch::Tensor& x, int64_t k, int64_t s, TfPadding padding,
                             const std::function<torch::Tensor(const torch::Tensor&, int64_t)>& conv) {
  if (padding == TfPadding::Valid) return conv(x, 0);
  if (padding == TfPadding::One) return conv(x, 1);
  const auto ph = tf_same_pads(x.size(2), k, s), pw = tf_same_pads(x.size(3), k, s);
  // Symmetric and equal on both axes: let the convolution pad (no copy).
  if (ph.first == ph.second && pw.first == pw.second && ph.first == pw.first) return conv(x, ph.first);
  return conv(F::pad(x, F::PadFuncOptions({pw.first, pw.second, ph.first, ph.second})), 0);
}

TfConvImpl::TfConvImpl(int64_t in, int64_t out, int64_t k, int64_t stride, TfPadding padding, const std::string& bias_name)
    : k_(k), stride_(stride), padding_(padding) {
  weight = register_parameter("weight", torch::empty({out, in, k, k}));
  bias = register_parameter(bias_name, torch::zeros({out}));
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
}

torch::Tensor TfConvImpl::forward(const torch::Tensor& x) {
  return tf_padded_conv(x, k_, stride_, padding_, [&](const torch::Tensor& in, int64_t pad) {
    return tf_conv2d(in, weight, bias, stride_, pad, 1);
  });
}

TfSeparableConvImpl::TfSeparableConvImpl(int64_t in, int64_t out, int64_t stride, TfPadding padding)
    : channels_(in), stride_(stride), padding_(padding) {
  depthwise_filter = register_parameter("depthwise_filter", torch::empty({in, 1, 3, 3}));
  pointwise_filter = register_parameter("pointwise_filter", torch::empty({out, in, 1, 1}));
  bias = register_parameter("bias", torch::zeros({out}));
  torch::nn::init::kaiming_uniform_(depthwise_filter, std::sqrt(5.0));
  torch::nn::init::kaiming_uniform_(pointwise_filter, std::sqrt(5.0));
}

torch::Tensor TfSeparableConvImpl::forward(const torch::Tensor& x) {
  const torch::Tensor d = tf_padded_conv(x, 3, stride_, padding_, [&](const torch::Tensor& in, int64_t pad) {
    return tf_conv2d(in, depthwise_filter, {}, stride_, pad, channels_);
  });
  return tf_conv2d(d, pointwise_filter, bias, 1, 0, 1);
}

}  // namespace agegender
