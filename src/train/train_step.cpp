#include "train/train_step.hpp"

#include <spdlog/spdlog.h>

#include "train/captured_step.hpp"

namespace agegender {

TrainStep::TrainStep(FaceNetImpl& model, torch::optim::Optimizer& optimizer, const HeadDecoder& decoder, StepSettings s)
    : model_(model), opt_(optimizer), s_(std::move(s)), years_(decoder.years()), scaler_(s_.amp == "fp16") {
  if (years_) year_to_class_ = decoder.year_to_class().to(s_.device);
  for (auto& p : model_.parameters()) {
    if (s_.channels_last && p.dim() == 4) p.set_data(p.data().contiguous(torch::MemoryFormat::ChannelsLast));
    if (p.requires_grad()) params_.push_back(p);
  }
  const auto on = torch::TensorOptions().device(s_.device);
  loss_ = torch::zeros({}, on.dtype(torch::kFloat));
  loss_sum_ = torch::zeros({}, on.dtype(torch::kDouble));
  age_correct_ = torch::zeros({}, on.dtype(torch::kLong));
  gender_correct_ = torch::zeros({}, on.dtype(torch::kLong));
  // Graphs replay a fixed sequence of kernels: fp16's skip-on-overflow decision needs the host each step.
  if (!s_.device.is_cuda() || s_.amp == "fp16" || !CapturedStep::available()) s_.cuda_graphs = false;
}

TrainStep::~TrainStep() = default;

std::string TrainStep::describe(const StepSettings& s) {
  std::string out = s.amp == "off" ? "fp32" : s.amp + " autocast";
  if (s.amp == "fp16") out += " with loss scaling";
  if (s.channels_last) out += ", channels-last";
  if (s.cuda_graphs) out += ", CUDA graphs";
  return out;
}

// The device work of a step, identical whether run eagerly or captured: gradients are zeroed in place
// (a captured graph keeps writing into the same gradient tensors) and the totals are device tensors.
void TrainStep::forward_backward(const torch::Tensor& x, const Batch& target) {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  const torch::Tensor in = s_.channels_last && x.dim() == 4 ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
  ModelOutput out;
  torch::Tensor loss;
  {
    AutocastScope autocast(s_.device, s_.amp, /*cache=*/!capturing_);
    out = s_.from_cut ? model_.forward_from_cut(in) : model_.forward(in);
    loss = training_loss(out, target, s_.loss);
  }
  scaler_.scale_loss(loss).backward();
  torch::NoGradGuard no_grad;
  const auto m = static_cast<double>(x.size(0));
  loss_.copy_(loss.detach());
  loss_sum_.add_(loss.detach().to(torch::kDouble) * m);
  if (out.age_logits.defined()) {
    const auto logits = out.age_logits.detach().to(torch::kFloat);
    const auto pred = years_ ? torch::softmax(logits, 1).matmul(year_to_class_).argmax(1) : logits.argmax(1);
    age_correct_.add_(pred.eq(target.age_class).sum());
  }
  if (out.gender_logits.defined()) {
    const auto female = torch::softmax(out.gender_logits.detach().to(torch::kFloat), 1).select(1, 1).ge(0.5);
    gender_correct_.add_(female.to(torch::kLong).eq(target.gender).sum());
  }
}

bool TrainStep::optimizer_step() {
  if (!scaler_.unscale(params_)) return false;  // fp16 overflow: skip, the scale was lowered
  opt_.step();
  return true;
}

torch::Tensor TrainStep::run(const torch::Tensor& x, const Batch& target) {
  const int64_t m = x.size(0);
  images_ += m;
  if (graph_ && m == graph_batch_) {
    static_x_.copy_(x, /*non_blocking=*/true);
    static_target_.age_class.copy_(target.age_class, true);
    static_target_.age.copy_(target.age, true);
    static_target_.gender.copy_(target.gender, true);
    graph_->replay();
  } else {
    forward_backward(x, target);
  }
  optimizer_step();
  if (s_.cuda_graphs && !graph_ && !capture_failed_) {
    if (graph_batch_ == 0) graph_batch_ = m;  // the first batch has the full batch size
    if (m == graph_batch_ && --capture_countdown_ <= 0) try_capture(x, target);
  }
  return loss_.clone();
}

torch::Tensor TrainStep::run(const Batch& host, const DeviceAugment* augment) {
  const auto& d = s_.device;
  const auto x = augment ? (*augment)(host.x.to(d, /*non_blocking=*/true), host.draws.to(d, true)) : host.x.to(d, true);
  Batch target;
  target.age_class = host.age_class.to(d, true), target.age = host.age.to(d, true), target.gender = host.gender.to(d, true);
  return run(x, target);
}

bool TrainStep::try_capture(const torch::Tensor& x, const Batch& target) {
  static_x_ = x.clone();
  static_target_.age_class = target.age_class.clone();
  static_target_.age = target.age.clone();
  static_target_.gender = target.gender.clone();
  // The side-stream warm-up inside CapturedStep really runs the body once: keep it out of the totals and
  // of BatchNorm's running statistics.
  std::vector<torch::Tensor> saved;
  const std::vector<torch::Tensor> state = {loss_, loss_sum_, age_correct_, gender_correct_};
  auto buffers = model_.buffers();
  for (const auto& t : state) saved.push_back(t.clone());
  for (const auto& b : buffers) saved.push_back(b.clone());
  try {
    capturing_ = true;
    graph_ = std::make_unique<CapturedStep>([this] { forward_backward(static_x_, static_target_); }, /*warmup=*/1);
    capturing_ = false;
  } catch (const std::exception& e) {
    capturing_ = false;
    capture_failed_ = true;
    graph_.reset();
    spdlog::warn("CUDA graph capture of the training step failed, continuing without graphs: {}", e.what());
  }
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (const auto& t : state) t.copy_(saved[i++]);
  for (auto& b : buffers) b.copy_(saved[i++]);
  return graph_ != nullptr;
}

StepTotals TrainStep::take() {
  StepTotals t;
  t.loss_sum = loss_sum_.item<double>();
  t.age_correct = age_correct_.item<int64_t>();
  t.gender_correct = gender_correct_.item<int64_t>();
  t.images = images_;
  loss_sum_.zero_();  // in place: a captured graph holds these tensors
  age_correct_.zero_();
  gender_correct_.zero_();
  images_ = 0;
  return t;
}

}  // namespace agegender
