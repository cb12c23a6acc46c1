#pragma once
// LibTorch tensors <-> safetensors, by parameter/buffer name.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "agegender/safetensors.hpp"

namespace agegender {

StTensor to_st_tensor(const torch::Tensor& t);
torch::Tensor from_st_tensor(const StTensor& t);  // float dtypes become float32

/// Every parameter and buffer of `module` under `prefix`.
void add_module_tensors(const torch::nn::Module& module, StFile& file, const std::string& prefix = "");

struct LoadReport {
  std::vector<std::string> missing;      // in the model, not in the file
  std::vector<std::string> unexpected;   // in the file, not in the model (after `ignore_prefixes`)
  std::vector<std::string> mismatched;   // same name, other shape
  std::vector<std::string> ignored;      // skipped by prefix (e.g. "classifier.")
  size_t loaded = 0;
};

/// Copies tensors by name into `module`. With `strict`, any missing/unexpected/mismatched name throws
/// RuntimeError listing them all. `only_prefix` (e.g. "features.") restricts the transfer to those names:
/// file tensors outside it are reported as ignored (a classifier, a head), not as unexpected.
LoadReport load_module_tensors(torch::nn::Module& module, const StFile& file, const std::string& origin,
                               bool strict, const std::string& only_prefix = "",
                               const std::vector<std::string>& ignore_prefixes = {});

}  // namespace agegender
