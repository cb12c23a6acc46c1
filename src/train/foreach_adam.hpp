#pragma once
// Adam whose update is a handful of multi-tensor (_foreach_*) kernels over all parameters at once instead
// of ~10 kernels per parameter: on a GPU the per-parameter launches of torch::optim::Adam cost more than
// the arithmetic. Same arithmetic, same state (AdamParamState), so checkpoints and resume are unchanged.
#include <torch/torch.h>

namespace agegender {

class ForeachAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace agegender
