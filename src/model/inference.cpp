#include "model/inference.hpp"

namespace agegender {
namespace F = torch::nn::functional;

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
template <typename T>
void append(std::vector<T>& v, const torch::Tensor& t) {
  const auto c = t.to(torch::kCPU).contiguous();
  v.insert(v.end(), c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}
}  // namespace

PredictionSet predict_split(FaceNetImpl& model, const SplitData& data, const ModelInput& input, int batch_size,
                            double gender_weight, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  PredictionSet p;
  p.num_classes = model.spec().num_age_classes;
  BatchLoader loader(data, input, batch_size, /*shuffle=*/false, nullptr, 0, 0);
  Batch b;
  while (loader.next(b)) {
    const auto out = model.forward(b.x.to(device));
    p.loss_sum += face_loss(out, b.age_class.to(device), b.gender.to(device), gender_weight, /*sum=*/true)
                      .item<double>();
    if (out.age_logits.defined()) append<float>(p.age_probs, torch::softmax(out.age_logits, 1));
    if (out.gender_logits.defined()) append<float>(p.female_prob, torch::softmax(out.gender_logits, 1).select(1, 1));
    const auto to_int = [](const torch::Tensor& t) { return t.to(torch::kInt); };
    append<int>(p.true_class, to_int(b.age_class));
    append<int>(p.true_gender, to_int(b.gender));
    append<int>(p.true_race, to_int(b.race));
    append<int>(p.true_age, to_int(b.age));
  }
  if (was_training) model.train();
  return p;
}

}  // namespace agegender
