#pragma once
// Loss and batched inference shared by training (val/test), eval, predict and benchmarks.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "agegender/age_calibration.hpp"
#include "agegender/binning.hpp"
#include "agegender/metrics.hpp"
#include "model/face_net.hpp"
#include "model/batch_loader.hpp"

namespace agegender {

class FeatureCache;

/// Loss CE(age) + gender_weight * CE(gender): the batch mean, or the sum over the batch with `sum`.
torch::Tensor face_loss(const ModelOutput& out, const torch::Tensor& age_class, const torch::Tensor& gender,
                        double gender_weight, bool sum = false);

struct LossOptions {
  double gender_weight = 1.0;
  std::string age_head = "bins";  // bins | years
  std::string age_loss = "ldl";   // years: ldl | mean_variance
  double age_sigma = 2.0;         // ldl
};

/// The training objective, batch mean: bins: CE(age class); years: `ldl` = KL(N(age, sigma^2) over the
/// years, normalised || softmax), `mean_variance` = CE(year) + 0.2 * (E[age] - age)^2 / 2 + 0.05 * Var[age]
/// (Pan et al. 2018); plus gender_weight * CE(gender).
torch::Tensor training_loss(const ModelOutput& out, const Batch& target, const LossOptions& o);

/// The heads' outputs as probabilities: age classes of `binning` (a year head's are sums over each class's
/// years), the year distribution and expected age (year heads; bins heads: expected age over the class
/// mean ages when given; a year head's through the model's age calibration), P(female).
struct HeadProbs {
  torch::Tensor age_probs, year_probs, expected_age, female_prob;  // [B, K], [B, kAgeYears], [B], [B]; CPU
};

class HeadDecoder {
 public:
  HeadDecoder(const ModelSpec& spec, const AgeBinning& binning, const std::vector<double>& class_mean_age = {},
              const AgeCalibration& age_calibration = {});
  /// `flipped`: the outputs for the horizontally flipped inputs (test-time augmentation): the
  /// probabilities of both are averaged.
  HeadProbs decode(const ModelOutput& out, const ModelOutput* flipped = nullptr) const;
  bool years() const { return years_; }
  /// Year head: [kAgeYears, K] 0/1, which class each year belongs to (CPU).
  const torch::Tensor& year_to_class() const { return year_to_class_; }

 private:
  bool years_ = false;
  AgeCalibration age_calibration_;
  torch::Tensor year_to_class_, ages_, class_mean_;
};

/// Runs the model and decodes its heads; with `tta` also on the flipped input (or `x_flip` when given).
/// `from_cut`: `x` is the output below the model's cut (cached features), not pixels.
HeadProbs infer(FaceNetImpl& model, const HeadDecoder& decoder, const torch::Tensor& x, bool tta,
                const torch::Tensor& x_flip = {}, bool from_cut = false);

struct ScoreOptions {
  int batch_size = 256;
  double gender_weight = 1.0;
  torch::Device device = torch::kCPU;
  bool tta = false;  // average with horizontally flipped inputs
};

/// Runs `model` (eval mode, no grad) over a whole split; probabilities and labels for compute_metrics. The
/// loss is the NLL of the (averaged) probabilities: CE for bins heads, the binned NLL for year heads.
PredictionSet predict_split(FaceNetImpl& model, const SplitData& data, const ModelInput& input, const AgeBinning& binning,
                            const ScoreOptions& o);
/// The same from a feature cache of the model's cut (flipped features come from the cache).
PredictionSet predict_split_cached(FaceNetImpl& model, const FeatureCache& cache, const SplitData& data,
                                   const AgeBinning& binning, const ScoreOptions& o);

}  // namespace agegender
