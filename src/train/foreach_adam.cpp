#include "train/foreach_adam.hpp"

#include <cmath>

#include "agegender/error.hpp"
#include "model/optimizer_state_key.hpp"

namespace agegender {

torch::Tensor ForeachAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    if (o.amsgrad()) throw UsageError("ForeachAdam: amsgrad is not supported");
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq;
    std::vector<at::Scalar> step_size, sqrt_bc2;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = state()[optimizer_state_key(p)];
      if (!slot) {
        auto s = std::make_unique<torch::optim::AdamParamState>();
        s->step(0);
        s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(s);
      }
      auto& s = static_cast<torch::optim::AdamParamState&>(*slot);
      s.step(s.step() + 1);
      // Bias corrections per parameter, as torch::optim::Adam computes them.
      const double bc1 = 1 - std::pow(beta1, static_cast<double>(s.step()));
      const double bc2 = 1 - std::pow(beta2, static_cast<double>(s.step()));
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avg.push_back(s.exp_avg());
      exp_avg_sq.push_back(s.exp_avg_sq());
      step_size.emplace_back(-o.lr() / bc1);
      sqrt_bc2.emplace_back(std::sqrt(bc2));
    }
    if (params.empty()) continue;
    if (o.weight_decay() != 0) grads = at::_foreach_add(grads, params, o.weight_decay());
    at::_foreach_mul_(exp_avg, beta1);
    at::_foreach_add_(exp_avg, grads, 1 - beta1);
    at::_foreach_mul_(exp_avg_sq, beta2);
    at::_foreach_addcmul_(exp_avg_sq, grads, grads, 1 - beta2);
    auto denom = at::_foreach_sqrt(exp_avg_sq);
    at::_foreach_div_(denom, sqrt_bc2);
    at::_foreach_add_(denom, o.eps());
    at::_foreach_addcdiv_(params, exp_avg, denom, step_size);
  }
  return loss;
}

}  // namespace agegender
