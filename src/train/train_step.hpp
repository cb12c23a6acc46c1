#pragma once
// One optimisation step of `train` (and of bench_train_step, so the bench measures what train runs):
// autocast, channels-last, loss scaling, the optimizer, and, on CUDA, the step's forward and backward
// replayed from a captured graph. Losses and accuracy counts accumulate on the device: nothing in a step
// waits for the host unless fp16 loss scaling has to check its gradients.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "model/batch_loader.hpp"
#include "model/face_net.hpp"
#include "model/inference.hpp"
#include "train/precision.hpp"

namespace agegender {

class CapturedStep;

struct StepSettings {
  torch::Device device = torch::kCPU;
  std::string amp = "off";  // off | bf16 | fp16
  bool channels_last = false;
  bool cuda_graphs = false;  // used only where CapturedStep::available() and the batch shape repeats
  bool from_cut = false;     // inputs are cached features below the model's cut
  LossOptions loss;
};

/// What accumulated since the last take(): loss * images, correct age classes, correct genders, images.
struct StepTotals {
  double loss_sum = 0;
  long age_correct = 0, gender_correct = 0, images = 0;
  StepTotals& operator+=(const StepTotals& o) {
    loss_sum += o.loss_sum, age_correct += o.age_correct, gender_correct += o.gender_correct, images += o.images;
    return *this;
  }
};

class TrainStep {
 public:
  /// Puts the model's 4-D weights in channels-last layout when asked (checkpoints stay NCHW: saving copies
  /// them contiguous).
  TrainStep(FaceNetImpl& model, torch::optim::Optimizer& optimizer, const HeadDecoder& decoder, StepSettings s);
  ~TrainStep();
  TrainStep(const TrainStep&) = delete;
  TrainStep& operator=(const TrainStep&) = delete;

  /// One step on `x` (on the device) against `target`'s labels (on the device). Returns this batch's loss
  /// as a device scalar: reading it waits for the step.
  torch::Tensor run(const torch::Tensor& x, const Batch& target);
  /// A loader's batch: uploaded asynchronously (pinned memory), augmented on the device when it is raw
  /// (`augment` given), then run().
  torch::Tensor run(const Batch& host, const DeviceAugment* augment);
  /// The totals so far (waits for the device), and starts new ones.
  StepTotals take();
  /// Whether steps of the full batch size are being replayed from a CUDA graph.
  bool graphed() const { return graph_ != nullptr; }
  const StepSettings& settings() const { return s_; }
  static std::string describe(const StepSettings& s);

 private:
  void forward_backward(const torch::Tensor& x, const Batch& target);
  bool optimizer_step();
  bool try_capture(const torch::Tensor& x, const Batch& target);

  FaceNetImpl& model_;
  torch::optim::Optimizer& opt_;
  StepSettings s_;
  bool years_;
  torch::Tensor year_to_class_;  // on the device
  std::vector<torch::Tensor> params_;  // trainable
  LossScaler scaler_;
  torch::Tensor loss_, loss_sum_, age_correct_, gender_correct_;  // device scalars
  long images_ = 0;
  // CUDA graph: static inputs the captured body reads, filled before each replay.
  int64_t graph_batch_ = 0;
  int capture_countdown_ = 2;  // eager full-size steps before capturing (the first ones allocate state)
  bool capture_failed_ = false;
  bool capturing_ = false;  // autocast must not cache casts across replays
  torch::Tensor static_x_;
  Batch static_target_;
  std::unique_ptr<CapturedStep> graph_;
};

}  // namespace agegender
