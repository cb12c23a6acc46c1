#pragma once
// Internal (LibTorch) model interface: a registered feature extractor + shared age/gender heads.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace agegender {

struct ModelSpec {
  std::string arch = "base_cnn";
  std::string head = "gap";  // gap | flatten
  double dropout = 0.3;
  int in_channels = 3;
  int input_size = 64;
  int num_age_classes = 7;  // 0 = no age head
  bool gender_head = true;
  int trainable_conv_layers = -1;  // -1 = all
};

struct ModelOutput {
  torch::Tensor age_logits;     // [B, K] or undefined
  torch::Tensor gender_logits;  // [B, 2] or undefined
};

/// features.* (named like torchvision for vgg16) -> gap|flatten head -> age_head / gender_head.
class FaceNetImpl : public torch::nn::Module {
 public:
  FaceNetImpl(torch::nn::Sequential features, int feature_channels, const ModelSpec& spec);
  ModelOutput forward(const torch::Tensor& x);
  /// The feature extractor alone (torchvision's `model.features(x)` for vgg16).
  torch::Tensor features(const torch::Tensor& x) { return features_->forward(x); }
  torch::nn::Sequential& feature_extractor() { return features_; }
  /// Freezes all but the last `trainable` conv layers (-1 = none frozen). Frozen layers get
  /// requires_grad=false, so they cost no backward time and get no optimizer state.
  void set_trainable_conv_layers(int trainable);
  std::vector<torch::nn::Conv2d> conv_layers() const;
  const ModelSpec& spec() const { return spec_; }

 private:
  ModelSpec spec_;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Sequential neck_{nullptr};  // flatten head only: flatten-dense-relu
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear age_head_{nullptr}, gender_head_{nullptr};
};
TORCH_MODULE(FaceNet);

/// Builds a registered architecture; throws UsageError for unknown names.
FaceNet build_model(const ModelSpec& spec);

// Feature extractors, one file each.
torch::nn::Sequential make_base_cnn_features(int in_channels, int* out_channels);
torch::nn::Sequential make_vgg16_features(int in_channels, int* out_channels);

}  // namespace agegender
