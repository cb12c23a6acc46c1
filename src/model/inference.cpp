#include "model/inference.hpp"

#include "model/feature_cache.hpp"

namespace agegender {
namespace F = torch::nn::functional;
// AgeCalibration (torch-free, also in the OpenCV-only build) clamps to the year head's last year itself.
static_assert(AgeCalibration::kMaxAge == kAgeYears - 1, "AgeCalibration::kMaxAge must be the year head's last year");

torch::Tensor face_loss(const ModelOutput& out, const torch::Tensor& age_class, const torch::Tensor& gender,
                        double gender_weight, bool sum) {
  auto opts = F::CrossEntropyFuncOptions();
  if (sum) opts.reduction(torch::kSum);
  torch::Tensor loss;
  if (out.age_logits.defined()) loss = F::cross_entropy(out.age_logits, age_class, opts);
  if (out.gender_logits.defined()) {
    const auto g = F::cross_entropy(out.gender_logits, gender, opts) * gender_weight;
    loss = loss.defined() ? loss + g : g;
  }
  return loss;
}

namespace {

torch::Tensor year_loss(const torch::Tensor& logits, const torch::Tensor& age, const LossOptions& o) {
  const auto years = torch::arange(logits.size(1), logits.options());
  const auto log_p = torch::log_softmax(logits, 1);
  const auto true_age = age.to(logits.dtype()).unsqueeze(1);
  if (o.age_loss == "mean_variance") {
    const auto p = log_p.exp();
    const auto mean = (p * years).sum(1, true);
    const auto var = (p * (years - mean).pow(2)).sum(1);
    const auto ce = F::nll_loss(log_p, age.clamp(0, logits.size(1) - 1));
    return ce + 0.2 * ((mean - true_age).pow(2).squeeze(1) / 2).mean() + 0.05 * var.mean();
  }
  auto target = torch::exp(-(years - true_age).pow(2) / (2 * o.age_sigma * o.age_sigma));
  target = target / target.sum(1, true);
  return (target * (torch::log(target.clamp_min(1e-30)) - log_p)).sum(1).mean();  // KL(target || p)
}

}  // namespace

torch::Tensor training_loss(const ModelOutput& out, const Batch& t, const LossOptions& o) {
  if (o.age_head != "years") return face_loss(out, t.age_class, t.gender, o.gender_weight);
  torch::Tensor loss;
  if (out.age_logits.defined()) loss = year_loss(out.age_logits, t.age, o);
  if (out.gender_logits.defined()) {
    const auto g = F::cross_entropy(out.gender_logits, t.gender) * o.gender_weight;
    loss = loss.defined() ? loss + g : g;
  }
  return loss;
}

HeadDecoder::HeadDecoder(const ModelSpec& spec, const AgeBinning& binning, const std::vector<double>& class_mean_age,
                         const AgeCalibration& age_calibration)
    : years_(spec.age_head == "years"), age_calibration_(age_calibration) {
  const int k = binning.num_classes();
  if (years_) {
    year_to_class_ = torch::zeros({kAgeYears, k});
    for (int a = 0; a < kAgeYears; ++a) year_to_class_[a][binning.class_of(a)] = 1.0f;
    ages_ = torch::arange(kAgeYears, torch::kFloat);
  } else if (class_mean_age.size() == static_cast<size_t>(k)) {
    class_mean_ = torch::tensor(std::vector<float>(class_mean_age.begin(), class_mean_age.end()));
  }
}

HeadProbs HeadDecoder::decode(const ModelOutput& out, const ModelOutput* flipped) const {
  const auto probs = [&](const torch::Tensor& a, const torch::Tensor& b) {
    auto p = torch::softmax(a, 1);
    if (b.defined()) p = (p + torch::softmax(b, 1)) * 0.5;
    return p.to(torch::kCPU).contiguous();
  };
  HeadProbs h;
  if (out.age_logits.defined()) {
    const auto p = probs(out.age_logits, flipped ? flipped->age_logits : torch::Tensor());
    if (years_) {
      h.year_probs = p;
      h.age_probs = p.matmul(year_to_class_).contiguous();
      h.expected_age = p.matmul(ages_).contiguous();
      if (!age_calibration_.identity()) {  // AgeCalibration::apply, batched
        h.expected_age = torch::expm1(age_calibration_.scale * torch::log1p(h.expected_age.clamp_min(0)) + age_calibration_.shift)
                             .clamp(0, AgeCalibration::kMaxAge);
      }
    } else {
      h.age_probs = p;
      if (class_mean_.defined()) h.expected_age = p.matmul(class_mean_).contiguous();
    }
  }
  if (out.gender_logits.defined()) {
    h.female_prob = probs(out.gender_logits, flipped ? flipped->gender_logits : torch::Tensor()).select(1, 1).contiguous();
  }
  return h;
}

HeadProbs infer(FaceNetImpl& model, const HeadDecoder& decoder, const torch::Tensor& x, bool tta, const torch::Tensor& x_flip,
                bool from_cut) {
  const auto run = [&](const torch::Tensor& in) { return from_cut ? model.forward_from_cut(in) : model.forward(in); };
  const ModelOutput out = run(x);
  if (!tta) return decoder.decode(out);
  const ModelOutput flipped = run(x_flip.defined() ? x_flip : x.flip({3}));
  return decoder.decode(out, &flipped);
}

namespace {

template <typename T>
void append(std::vector<T>& v, const torch::Tensor& t) {
  const auto c = t.to(torch::kCPU).contiguous();
  v.insert(v.end(), c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

// The scoring loop over any batch source (pixels or cached features).
PredictionSet score_batches(FaceNetImpl& model, const std::function<bool(Batch&)>& next, bool from_cut,
                            const AgeBinning& binning, const ScoreOptions& o) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const HeadDecoder decoder(model.spec(), binning);
  PredictionSet p;
  p.num_classes = model.spec().num_age_classes;
  if (decoder.years()) p.year_classes = kAgeYears;
  const auto nll_sum = [](const torch::Tensor& probs, const torch::Tensor& target) {
    return -probs.gather(1, target.unsqueeze(1)).clamp_min(1e-12).log().sum().item<double>();
  };
  Batch b;
  while (next(b)) {
    const torch::Tensor flip = b.x_flip.defined() ? b.x_flip.to(o.device) : torch::Tensor();
    const HeadProbs h = infer(model, decoder, b.x.to(o.device), o.tta, flip, from_cut);
    if (h.age_probs.defined()) {
      append<float>(p.age_probs, h.age_probs);
      p.loss_sum += nll_sum(h.age_probs, b.age_class);
    }
    if (h.year_probs.defined()) {
      append<float>(p.year_probs, h.year_probs);
      append<float>(p.expected_age, h.expected_age);
    }
    if (h.female_prob.defined()) {
      append<float>(p.female_prob, h.female_prob);
      const auto g = torch::stack({1 - h.female_prob, h.female_prob}, 1);
      const double gl = nll_sum(g, b.gender) * o.gender_weight;
      p.loss_sum += gl;
      p.gender_loss_sum += gl;
    }
    const auto to_int = [](const torch::Tensor& t) { return t.to(torch::kInt); };
    append<int>(p.true_class, to_int(b.age_class));
    append<int>(p.true_gender, to_int(b.gender));
    append<int>(p.true_race, to_int(b.race));
    append<int>(p.true_age, to_int(b.age));
  }
  if (was_training) model.train();
  return p;
}

}  // namespace

PredictionSet predict_split(FaceNetImpl& model, const SplitData& data, const ModelInput& input, const AgeBinning& binning,
                            const ScoreOptions& o) {
  BatchLoader loader(data, input, o.batch_size, /*shuffle=*/false, nullptr, 0, 0);
  return score_batches(model, [&](Batch& b) { return loader.next(b); }, false, binning, o);
}

PredictionSet predict_split_cached(FaceNetImpl& model, const FeatureCache& cache, const SplitData& data,
                                   const AgeBinning& binning, const ScoreOptions& o) {
  CachedBatchLoader loader(cache, data, o.batch_size, /*shuffle=*/false, nullptr, 0, 0, /*with_flips=*/o.tta);
  return score_batches(model, [&](Batch& b) { return loader.next(b); }, true, binning, o);
}

}  // namespace agegender
