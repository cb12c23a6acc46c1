#include "model/face_resnet.hpp"

#include <filesystem>

#include "agegender/tfjs_weights.hpp"
#include "model/tfjs_torch.hpp"

namespace agegender {
namespace F = torch::nn::functional;

ChannelScaleImpl::ChannelScaleImpl(int64_t channels) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor ChannelScaleImpl::forward(const torch::Tensor& x) {
  return torch::addcmul(bias.view({1, -1, 1, 1}), x, weight.view({1, -1, 1, 1}));
}

ScaledConvImpl::ScaledConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool valid) {
  // Stride-1 'same' with an odd kernel pads symmetrically, so torch's padding reproduces TF exactly.
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride)
                                                        .padding(valid ? 0 : kernel / 2)));
  scale = register_module("scale", ChannelScale(out));
}

torch::Tensor ScaledConvImpl::forward(const torch::Tensor& x) { return scale->forward(conv->forward(x)); }

FaceResBlockImpl::FaceResBlockImpl(int64_t in, int64_t out, bool down) : down_(down) {
  conv1_ = register_module("conv1", ScaledConv(in, out, 3, down ? 2 : 1, /*valid=*/down));
  conv2_ = register_module("conv2", ScaledConv(out, out, 3, 1, /*valid=*/false));
}

torch::Tensor FaceResBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = conv2_->forward(torch::relu(conv1_->forward(x)));
  torch::Tensor shortcut = x;
  if (down_) {
    shortcut = F::avg_pool2d(x, F::AvgPool2dFuncOptions(2).stride(2));
    const int64_t extra = y.size(1) - shortcut.size(1);
    if (extra > 0) shortcut = F::pad(shortcut, F::PadFuncOptions({0, 0, 0, 0, 0, extra}));
    const int64_t dh = shortcut.size(2) - y.size(2), dw = shortcut.size(3) - y.size(3);
    if (dh > 0 || dw > 0) y = F::pad(y, F::PadFuncOptions({0, dw, 0, dh}));
  }
  return torch::relu(y + shortcut);
}

FaceStemImpl::FaceStemImpl(int64_t in_channels) {
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, 32, 7).stride(2)));
  scale = register_module("scale", ChannelScale(32));
}

torch::Tensor FaceStemImpl::forward(const torch::Tensor& x) {
  return F::max_pool2d(torch::relu(scale->forward(conv->forward(x))), F::MaxPool2dFuncOptions(3).stride(2));
}

torch::nn::Sequential make_face_resnet_features(int in_channels, int* out_channels) {
  struct Spec {
    const char* name;
    int64_t in, out;
    bool down;
  };
  static const Spec kBlocks[] = {
      {"conv32_1", 32, 32, false},    {"conv32_2", 32, 32, false},      {"conv32_3", 32, 32, false},
      {"conv64_down", 32, 64, true},  {"conv64_1", 64, 64, false},      {"conv64_2", 64, 64, false},
      {"conv64_3", 64, 64, false},    {"conv128_down", 64, 128, true},  {"conv128_1", 128, 128, false},
      {"conv128_2", 128, 128, false}, {"conv256_down", 128, 256, true}, {"conv256_1", 256, 256, false},
      {"conv256_2", 256, 256, false}, {"conv256_down_out", 256, 256, true},
  };
  torch::OrderedDict<std::string, torch::nn::AnyModule> blocks;
  blocks.insert("conv32_down", torch::nn::AnyModule(FaceStem(in_channels)));
  for (const Spec& b : kBlocks) blocks.insert(b.name, torch::nn::AnyModule(FaceResBlock(b.in, b.out, b.down)));
  *out_channels = 256;
  return torch::nn::Sequential(std::move(blocks));
}

FaceResNetImpl::FaceResNetImpl() {
  int channels = 0;
  features = register_module("features", make_face_resnet_features(3, &channels));
  fc = register_parameter("fc", torch::zeros({channels, kFaceDescriptorSize}));
}

FaceApiInput face_resnet_input() {
  FaceApiInput in;
  in.size = kFaceResNetInput;
  in.centered = true;
  return in;
}

Normalization face_resnet_normalization() {
  const FaceApiInput in = face_resnet_input();
  return {{in.mean[0] / 255.0f, in.mean[1] / 255.0f, in.mean[2] / 255.0f}, {1.0f, 1.0f, 1.0f}};
}

bool is_face_resnet_tfjs(const std::string& path) {
  const std::filesystem::path p(path);
  return std::filesystem::is_directory(p) || p.extension() == ".json";
}

std::string face_recognition_manifest(const std::string& path) {
  if (!std::filesystem::is_directory(path)) return path;
  return (std::filesystem::path(path) / "face_recognition_model-weights_manifest.json").string();
}

void load_face_resnet_tfjs(FaceResNetImpl& net, const TfjsWeights& weights) {
  load_tfjs_parameters(net, weights, "features.", /*keep_layout=*/{"fc"});
}

void load_face_resnet_features_tfjs(torch::nn::Sequential& features, const TfjsWeights& weights) {
  load_tfjs_parameters(*features, weights, "", {}, /*ignore=*/{"fc"});
}

}  // namespace agegender
