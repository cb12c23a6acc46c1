#pragma once
// TF.js tensors -> LibTorch parameters by name: "a.b.weight" <- "a/b/filters" (or "weights"),
// "a.b.bias" <- "a/b/bias" (or "biases"); conv filters HWIO -> OIHW, depthwise HWC1 -> C1HW,
// dense [in, out] -> [out, in].
#include <torch/torch.h>

#include <set>
#include <string>

namespace agegender {

struct TfjsWeights;

/// Loads every parameter of `module` from `weights`; names in `keep_layout` are copied as stored.
/// Every parameter must be found with a matching shape and every float tensor of the manifest used,
/// otherwise RuntimeError naming the manifest and the tensors. Non-finite values are refused.
/// `strip` is removed from the front of parameter names first (e.g. "features.").
void load_tfjs_parameters(torch::nn::Module& module, const TfjsWeights& weights, const std::string& strip = "",
                          const std::set<std::string>& keep_layout = {}, const std::set<std::string>& ignore = {});

/// The inverse: every parameter of `module` written back, in TF layout, into the float32 tensor of
/// `weights` it was (or would be) loaded from, unquantized. RuntimeError naming a parameter without one.
void store_tfjs_parameters(const torch::nn::Module& module, TfjsWeights& weights, const std::string& strip = "",
                           const std::set<std::string>& keep_layout = {});

}  // namespace agegender
