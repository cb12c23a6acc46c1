#include "model/tfjs_torch.hpp"

#include "agegender/error.hpp"
#include "agegender/tfjs_weights.hpp"

namespace agegender {
namespace {

// "conv32_1.conv1.conv.weight" -> candidates "conv32_1/conv1/conv/filters", ".../weights"
std::vector<std::string> tf_names(const std::string& torch_name) {
  std::string base = torch_name;
  for (char& c : base) c = c == '.' ? '/' : c;
  const auto slash = base.rfind('/');
  const std::string stem = slash == std::string::npos ? "" : base.substr(0, slash + 1);
  const std::string leaf = slash == std::string::npos ? base : base.substr(slash + 1);
  if (leaf == "weight") return {stem + "filters", stem + "weights", base};
  if (leaf == "bias") return {stem + "bias", stem + "biases"};
  return {base};
}

// A depthwise filter: [kh, kw, C, 1] in TF, [C, 1, kh, kw] in torch (other 4-d filters: HWIO / OIHW).
bool is_depthwise(const std::vector<int64_t>& tf_shape, const torch::Tensor& param) {
  return tf_shape.size() == 4 && tf_shape[3] == 1 && param.dim() == 4 && param.size(1) == 1 && param.size(0) == tf_shape[2];
}

// Depthwise filters [kh, kw, C, 1] go to [C, 1, kh, kw]; other conv filters HWIO to OIHW.
torch::Tensor to_torch_layout(const TfjsTensor& t, bool keep, const torch::Tensor& target) {
  torch::Tensor v = torch::from_blob(const_cast<float*>(t.values.data()), t.shape, torch::kFloat).clone();
  if (keep) return v;
  if (v.dim() == 4) {
    return v.permute(is_depthwise(t.shape, target) ? std::vector<int64_t>{2, 3, 0, 1} : std::vector<int64_t>{3, 2, 0, 1}).contiguous();
  }
  if (v.dim() == 2) return v.t().contiguous();
  return v;
}

// The loader's name for a parameter (without `strip`).
std::string stripped(const std::string& key, const std::string& strip) {
  return key.compare(0, strip.size(), strip) == 0 ? key.substr(strip.size()) : key;
}

}  // namespace

void load_tfjs_parameters(torch::nn::Module& module, const TfjsWeights& weights, const std::string& strip,
                          const std::set<std::string>& keep_layout, const std::set<std::string>& ignore) {
  std::set<std::string> used;
  std::string problems;
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters(true)) {
    const std::string name = stripped(p.key(), strip);
    const TfjsTensor* found = nullptr;
    for (const auto& candidate : tf_names(name)) {
      if ((found = weights.find(candidate))) break;
    }
    if (!found) {
      std::string tried;
      for (const auto& candidate : tf_names(name)) tried += (tried.empty() ? "" : " or ") + candidate;
      problems += "\n  missing: " + tried + " (for " + p.key() + ")";
      continue;
    }
    used.insert(found->name);
    if (found->dtype != "float32") {
      problems += "\n  " + found->name + ": dtype " + found->dtype + ", expected float32";
      continue;
    }
    const torch::Tensor v = to_torch_layout(*found, keep_layout.count(name) > 0, p.value());
    if (v.sizes() != p.value().sizes()) {
      problems += "\n  " + found->name + ": shape " + tfjs_shape_str(found->shape) + " does not fit " + p.key() + " " +
                  c10::str(p.value().sizes());
      continue;
    }
    if (!torch::isfinite(v).all().item<bool>()) {
      problems += "\n  " + found->name + ": holds NaN or infinite values";
      continue;
    }
    p.value().copy_(v);
  }
  for (const auto& t : weights.tensors) {
    if (t.dtype == "float32" && !used.count(t.name) && !ignore.count(t.name)) problems += "\n  unexpected: " + t.name;
  }
  if (!problems.empty()) throw RuntimeError("weights " + weights.manifest + " do not fit the network:" + problems);
}

void store_tfjs_parameters(const torch::nn::Module& module, TfjsWeights& weights, const std::string& strip,
                           const std::set<std::string>& keep_layout) {
  for (const auto& p : module.named_parameters(true)) {
    const std::string name = stripped(p.key(), strip);
    TfjsTensor* found = nullptr;
    for (const auto& candidate : tf_names(name)) {
      if ((found = weights.find(candidate))) break;
    }
    if (!found || found->dtype != "float32") {
      throw RuntimeError("weights " + weights.manifest + ": no float32 tensor for parameter " + p.key());
    }
    torch::Tensor v = p.value().detach().to(torch::kCPU, torch::kFloat);
    const bool keep = keep_layout.count(name) > 0;
    if (!keep && v.dim() == 4) {  // OIHW -> HWIO; depthwise C1HW -> HWC1
      v = v.permute(is_depthwise(found->shape, v) ? std::vector<int64_t>{2, 3, 0, 1} : std::vector<int64_t>{2, 3, 1, 0});
    } else if (!keep && v.dim() == 2) {
      v = v.t();
    }
    v = v.contiguous();
    const std::vector<int64_t> shape(v.sizes().begin(), v.sizes().end());
    if (shape != found->shape) {
      throw RuntimeError("weights " + weights.manifest + ": " + p.key() + " " + c10::str(p.value().sizes()) + " does not fit " +
                         found->name + " " + tfjs_shape_str(found->shape));
    }
    found->values.assign(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
    found->quantization.clear();
  }
}

}  // namespace agegender
