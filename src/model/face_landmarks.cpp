#include "model/face_landmarks.hpp"

#include <algorithm>
#include <cmath>

#include "agegender/tfjs_weights.hpp"
#include "model/tfjs_torch.hpp"

namespace agegender {
namespace F = torch::nn::functional;

LandmarkDenseBlockImpl::LandmarkDenseBlockImpl(int64_t in, int64_t out, bool first, int convs) {
  if (first) {
    plain_ = register_module("conv0", TfConv(in, out, 3, 2, TfPadding::Same));
  } else {
    sep_.push_back(register_module("conv0", TfSeparableConv(in, out, 2, TfPadding::Same)));
  }
  for (int i = 1; i < convs; ++i) {
    sep_.push_back(register_module("conv" + std::to_string(i), TfSeparableConv(out, out, 1, TfPadding::Same)));
  }
}

torch::Tensor LandmarkDenseBlockImpl::forward(const torch::Tensor& x) {
  size_t next = 0;
  const torch::Tensor o1 = torch::relu(plain_ ? plain_->forward(x) : sep_[next++]->forward(x));
  torch::Tensor sum = o1;
  for (; next < sep_.size(); ++next) {
    const torch::Tensor in = next == (plain_ ? 0u : 1u) ? o1 : torch::relu(sum);
    sum = sum + sep_[next]->forward(in);
  }
  return torch::relu(sum);
}

FaceLandmarkNetImpl::FaceLandmarkNetImpl(bool tiny) : tiny_(tiny) {
  const int blocks = tiny ? 3 : 4, convs = tiny ? 3 : 4;
  int64_t in = 3, out = 32;
  for (int b = 0; b < blocks; ++b, in = out, out *= 2) {
    dense.push_back(register_module("dense" + std::to_string(b), LandmarkDenseBlock(in, out, b == 0, convs)));
  }
  fc = register_module("fc", torch::nn::Linear(in, 136));
}

torch::Tensor FaceLandmarkNetImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = x;
  for (auto& block : dense) out = block->forward(out);
  // avg-pool k x k / 2 valid with k = the map's side (7 full, 14 tiny) = the spatial mean.
  const int64_t k = tiny_ ? 14 : 7;
  out = F::avg_pool2d(out, F::AvgPool2dFuncOptions(k).stride(2));
  return fc->forward(out.flatten(1));
}

FaceApiInput landmark_input() {
  FaceApiInput in;
  in.size = kLandmarkInput;
  in.centered = true;
  return in;
}

std::vector<std::array<float, 2>> landmarks_to_pixels(const float* raw, int height, int width) {
  const double s = static_cast<double>(kLandmarkInput) / std::max(height, width);
  const double w = width * s, h = height * s;
  const double pad_x = w < h ? std::abs(w - h) / 2 : 0.0, pad_y = h < w ? std::abs(w - h) / 2 : 0.0;
  std::vector<std::array<float, 2>> pts(68);
  for (size_t i = 0; i < pts.size(); ++i) {
    pts[i][0] = static_cast<float>((raw[2 * i] * kLandmarkInput - pad_x) / w * width);
    pts[i][1] = static_cast<float>((raw[2 * i + 1] * kLandmarkInput - pad_y) / h * height);
  }
  return pts;
}

void load_face_landmarks_tfjs(FaceLandmarkNetImpl& net, const TfjsWeights& weights) { load_tfjs_parameters(net, weights); }

}  // namespace agegender
