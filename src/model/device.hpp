#pragma once
// "cpu" | "cuda" | "auto" -> a torch device, for train.device and eval/predict --device.
#include <torch/torch.h>

#include <string>

#include "agegender/error.hpp"

namespace agegender {

/// `what` names the setting in errors (e.g. "config: 'train.device'", "--device").
inline torch::Device pick_device(const std::string& want, const std::string& what) {
  if (want != "cpu" && want != "cuda" && want != "auto") {
    throw UsageError(what + " = \"" + want + "\": expected cpu, cuda or auto");
  }
  const bool cuda = torch::cuda::is_available();
  if (want == "cuda" && !cuda) {
    throw UsageError(what + " = \"cuda\" but no CUDA device is available to this LibTorch (use cpu or auto)");
  }
  return (want == "cuda" || (want == "auto" && cuda)) ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

}  // namespace agegender
