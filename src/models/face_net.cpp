#include "models/face_net.hpp"

#include "agegender/error.hpp"
#include "agegender/models.hpp"

namespace agegender {

const std::vector<ModelInfo>& model_registry() {
  static const std::vector<ModelInfo> registry = {
      {"base_cnn", "4 conv blocks (32-64-128-256, conv3x3-BN-ReLU-maxpool), GAP or flatten head", 4},
      {"vgg16", "torchvision VGG16 features (13 conv), ImageNet-loadable by name, GAP or flatten head", 13},
  };
  return registry;
}

FaceNet build_model(const ModelSpec& spec) {
  int channels = 0;
  torch::nn::Sequential features{nullptr};
  if (spec.arch == "base_cnn") {
    features = make_base_cnn_features(spec.in_channels, &channels);
  } else if (spec.arch == "vgg16") {
    features = make_vgg16_features(spec.in_channels, &channels);
  } else {
    throw UsageError("unknown model.arch '" + spec.arch + "' (see `agegender models`)");
  }
  FaceNet net(features, channels, spec);
  net->set_trainable_conv_layers(spec.trainable_conv_layers);
  return net;
}

FaceNetImpl::FaceNetImpl(torch::nn::Sequential features, int feature_channels, const ModelSpec& spec)
    : spec_(spec), features_(register_module("features", features)) {
  int head_in = feature_channels;
  if (spec.head == "flatten") {
    torch::NoGradGuard no_grad;
    const auto probe = features_->forward(torch::zeros({1, spec.in_channels, spec.input_size, spec.input_size}));
    if (probe.size(2) < 1 || probe.size(3) < 1) {
      throw UsageError("data.size " + std::to_string(spec.input_size) + " is too small for " + spec.arch);
    }
    constexpr int kHidden = 256;
    neck_ = register_module("neck", torch::nn::Sequential(torch::nn::Flatten(),
                                                          torch::nn::Linear(probe[0].numel(), kHidden),
                                                          torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true))));
    head_in = kHidden;
  } else if (spec.head != "gap") {
    throw UsageError("unknown model.head '" + spec.head + "' (expected gap or flatten)");
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(spec.dropout));
  if (spec.num_age_classes > 0) age_head_ = register_module("age_head", torch::nn::Linear(head_in, spec.num_age_classes));
  if (spec.gender_head) gender_head_ = register_module("gender_head", torch::nn::Linear(head_in, 2));
}

ModelOutput FaceNetImpl::forward(const torch::Tensor& x) {
  auto h = features_->forward(x);
  h = neck_ ? neck_->forward(h) : torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
  h = dropout_->forward(h);
  ModelOutput out;
  if (age_head_) out.age_logits = age_head_->forward(h);
  if (gender_head_) out.gender_logits = gender_head_->forward(h);
  return out;
}

std::vector<torch::nn::Conv2d> FaceNetImpl::conv_layers() const {
  std::vector<torch::nn::Conv2d> convs;
  for (const auto& m : features_->children()) {
    if (auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m)) convs.emplace_back(conv);
  }
  return convs;
}

void FaceNetImpl::set_trainable_conv_layers(int trainable) {
  const auto convs = conv_layers();
  const int n = static_cast<int>(convs.size());
  const int frozen_until = trainable < 0 ? 0 : std::max(0, n - trainable);
  // Freeze every feature module up to the first trainable conv (BatchNorm of frozen blocks included).
  bool frozen = frozen_until > 0;
  int conv_index = 0;
  for (const auto& m : features_->children()) {
    if (std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m)) {
      frozen = conv_index < frozen_until;
      ++conv_index;
    }
    for (auto& p : m->parameters()) p.set_requires_grad(!frozen);
  }
}

}  // namespace agegender
