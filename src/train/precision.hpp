#pragma once
// Mixed precision for the training step: an autocast scope (bf16 on CPU or CUDA, fp16 on CUDA) and the
// dynamic loss scaling fp16 needs so small gradients do not flush to zero.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace agegender {

/// Refuses a precision the device cannot train in (fp16 autocast exists for CUDA only), naming the key.
void check_precision(const std::string& amp, const torch::Device& device);

/// Turns autocast on for `device` in `amp` precision ("off" | "bf16" | "fp16") until destruction, then
/// restores the previous state and drops the cast cache. `cache` false for CUDA graph capture: cached
/// casts of the weights must not outlive one replay.
class AutocastScope {
 public:
  AutocastScope(const torch::Device& device, const std::string& amp, bool cache = true);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  bool was_caching_ = true;
  at::ScalarType was_dtype_ = at::kFloat;
};

/// Dynamic loss scaling (as torch.cuda.amp.GradScaler): the loss is multiplied by `scale` before backward;
/// gradients are divided by it after. A step with a non-finite gradient is skipped and the scale halved;
/// `growth_interval` finite steps in a row double it. Disabled, every call is a no-op.
class LossScaler {
 public:
  explicit LossScaler(bool enabled, double initial_scale = 65536.0, int growth_interval = 2000);
  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }
  torch::Tensor scale_loss(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  /// Unscales the gradients of `params` in place; false when one is not finite (skip the optimizer step).
  /// Waits for the device once (the finiteness check): fp16 steps are not free of host syncs.
  bool unscale(const std::vector<torch::Tensor>& params);

 private:
  bool enabled_;
  double scale_;
  int growth_interval_;
  int good_steps_ = 0;
};

}  // namespace agegender
