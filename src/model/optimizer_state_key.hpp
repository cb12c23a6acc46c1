#pragma once
// The key of a parameter in torch::optim::Optimizer::state(): LibTorch 1.x keys it by the parameter's
// TensorImpl address printed as text, 2.x by the address itself. Deduced from the map's key type, so one
// source builds against Debian's LibTorch 1.13 and a pip PyTorch's 2.x. Include after torch/torch.h.
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace agegender {

using OptimizerStateKey =
    typename std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;

// A template only so that the branch for the other LibTorch is never compiled.
template <typename Key = OptimizerStateKey>
Key optimizer_state_key(const at::Tensor& param) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;  // what 1.x's c10::guts::to_string(TensorImpl*) writes
    text << param.unsafeGetTensorImpl();
    return text.str();
  } else {
    return static_cast<Key>(param.unsafeGetTensorImpl());
  }
}

}  // namespace agegender
