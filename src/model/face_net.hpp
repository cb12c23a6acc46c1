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
  int num_age_classes = 7;  // classes of the run's age binning; 0 = no age head
  bool gender_head = true;
  int trainable_conv_layers = -1;  // -1 = all
  std::string age_head = "bins";   // bins: one logit per age class | years: one per year 0..kMaxAge
  /// Outputs of the age head: the binning's classes, or kAgeYears for a year head.
  int age_outputs() const;
};

/// Ages 0..116 (UTKFace's range): the outputs of a year head.
inline constexpr int kAgeYears = 117;

struct ModelOutput {
  torch::Tensor age_logits;     // [B, K] or undefined
  torch::Tensor gender_logits;  // [B, 2] or undefined
};

/// features.* (named like torchvision for vgg16) -> gap|flatten head -> age_head / gender_head.
class FaceNetImpl : public torch::nn::Module {
 public:
  FaceNetImpl(torch::nn::Sequential features, int feature_channels, const ModelSpec& spec);
  ModelOutput forward(const torch::Tensor& x) { return forward_from_cut(forward_below_cut(x)); }
  /// The frozen leading feature blocks (those with no trainable parameter; none when every conv layer
  /// trains): their output is what the feature cache stores.
  torch::Tensor forward_below_cut(const torch::Tensor& x) { return forward_blocks(0, cut_, x); }
  /// Feature blocks [from, to) only.
  torch::Tensor forward_blocks(int from, int to, const torch::Tensor& x);
  /// The rest: trainable feature blocks, pooling or neck, dropout, heads. forward = above(below(x)).
  ModelOutput forward_from_cut(const torch::Tensor& below);
  /// Number of leading blocks of features() below the cut (0 = nothing frozen), and the first one's name
  /// above it ("" when the cut is after the last block).
  int cut() const { return cut_; }
  std::string cut_name() const { return block_name(cut_); }
  /// Name of feature block `index` ("" past the last one).
  std::string block_name(int index) const;
  /// Frozen blocks stay in eval mode (BatchNorm keeps its statistics) whatever the mode of the rest, so a
  /// cached forward of them is the same computation as training through them.
  void train(bool on = true) override;
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
  int cut_ = 0;
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
