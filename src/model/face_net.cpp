#include "model/face_net.hpp"

#include "agegender/error.hpp"

namespace agegender {

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
  if (spec.age_head != "bins" && spec.age_head != "years") {
    throw UsageError("unknown model.age_head '" + spec.age_head + "' (expected bins or years)");
  }
  if (spec.num_age_classes > 0) age_head_ = register_module("age_head", torch::nn::Linear(head_in, spec.age_outputs()));
  if (spec.gender_head) gender_head_ = register_module("gender_head", torch::nn::Linear(head_in, 2));
}

int ModelSpec::age_outputs() const { return age_head == "years" ? kAgeYears : num_age_classes; }

torch::Tensor FaceNetImpl::forward_blocks(int from, int to, const torch::Tensor& x) {
  torch::Tensor h = x;
  auto it = features_->begin();
  std::advance(it, from);
  for (int i = from; i < to; ++i, ++it) h = it->forward(h);
  return h;
}

ModelOutput FaceNetImpl::forward_from_cut(const torch::Tensor& below) {
  torch::Tensor h = forward_blocks(cut_, static_cast<int>(features_->size()), below);
  h = neck_ ? neck_->forward(h) : torch::adaptive_avg_pool2d(h, {1, 1}).flatten(1);
  h = dropout_->forward(h);
  ModelOutput out;
  if (age_head_) out.age_logits = age_head_->forward(h);
  if (gender_head_) out.gender_logits = gender_head_->forward(h);
  return out;
}

// Pre-order over nested blocks too (face_resnet's residual blocks), which for the plain Sequential
// backbones is just their children in order.
std::vector<torch::nn::Conv2d> FaceNetImpl::conv_layers() const {
  std::vector<torch::nn::Conv2d> convs;
  for (const auto& m : features_->modules(/*include_self=*/false)) {
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
  for (const auto& m : features_->modules(/*include_self=*/false)) {
    if (std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(m)) {
      frozen = conv_index < frozen_until;
      ++conv_index;
    }
    for (auto& p : m->parameters(/*recurse=*/false)) p.set_requires_grad(!frozen);
  }
  // The cut: leading blocks without a trainable parameter, only when some conv layer is frozen.
  cut_ = 0;
  if (frozen_until > 0) {
    for (const auto& block : features_->children()) {
      bool trainable_inside = false;
      for (const auto& p : block->parameters()) trainable_inside = trainable_inside || p.requires_grad();
      if (trainable_inside) break;
      ++cut_;
    }
  }
  train(is_training());
}

std::string FaceNetImpl::block_name(int index) const {
  return index < static_cast<int>(features_->size()) ? features_->named_children()[static_cast<size_t>(index)].key() : "";
}

void FaceNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  auto it = features_->begin();
  for (int i = 0; i < cut_; ++i, ++it) it->ptr()->train(false);
}

}  // namespace agegender
