#include "model/weights.hpp"

#include <cstring>
#include <set>

#include "agegender/error.hpp"

namespace agegender {
namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

std::string join(const std::vector<std::string>& v, size_t max = 12) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < max; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > max) s += ", ... (" + std::to_string(v.size()) + " in all)";
  return s;
}

}  // namespace

StTensor to_st_tensor(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
  StTensor out;
  switch (c.scalar_type()) {
    case torch::kFloat: out.dtype = StDtype::F32; break;
    case torch::kLong: out.dtype = StDtype::I64; break;
    case torch::kInt: out.dtype = StDtype::I32; break;
    case torch::kByte: out.dtype = StDtype::U8; break;
    case torch::kDouble: out.dtype = StDtype::F64; break;
    default: throw RuntimeError("cannot store tensor of dtype " + std::string(c.dtype().name()));
  }
  out.shape = c.sizes().vec();
  out.data.assign(static_cast<const char*>(c.data_ptr()), c.nbytes());
  return out;
}

torch::Tensor from_st_tensor(const StTensor& t) {
  switch (t.dtype) {
    case StDtype::F32: case StDtype::F16: case StDtype::BF16: case StDtype::F64: {
      const std::vector<float> v = t.to_float();
      return torch::from_blob(const_cast<float*>(v.data()), t.shape, torch::kFloat).clone();  // clone owns it
    }
    case StDtype::I64: return torch::from_blob(const_cast<char*>(t.data.data()), t.shape, torch::kLong).clone();
    case StDtype::I32: return torch::from_blob(const_cast<char*>(t.data.data()), t.shape, torch::kInt).clone();
    case StDtype::U8: case StDtype::BOOL:
      return torch::from_blob(const_cast<char*>(t.data.data()), t.shape, torch::kByte).clone();
  }
  throw RuntimeError("unsupported safetensors dtype");
}

void add_module_tensors(const torch::nn::Module& module, StFile& file, const std::string& prefix) {
  for (const auto& p : module.named_parameters(true)) file.tensors[prefix + p.key()] = to_st_tensor(p.value());
  for (const auto& b : module.named_buffers(true)) file.tensors[prefix + b.key()] = to_st_tensor(b.value());
}

LoadReport load_module_tensors(torch::nn::Module& module, const StFile& file, const std::string& origin,
                               bool strict, const std::string& only_prefix,
                               const std::vector<std::string>& ignore_prefixes) {
  LoadReport r;
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : module.named_parameters(true)) targets[p.key()] = p.value();
  for (const auto& b : module.named_buffers(true)) targets[b.key()] = b.value();
  std::set<std::string> seen;
  for (const auto& [name, st] : file.tensors) {
    bool skip = !starts_with(name, only_prefix);
    for (const auto& ig : ignore_prefixes) skip = skip || starts_with(name, ig);
    if (skip) {
      r.ignored.push_back(name);
      continue;
    }
    auto it = targets.find(name);
    if (it == targets.end()) {
      r.unexpected.push_back(name);
      continue;
    }
    seen.insert(name);
    if (st.shape != it->second.sizes().vec()) {
      r.mismatched.push_back(name + " (file " + c10::str(c10::IntArrayRef(st.shape)) + ", model " +
                             c10::str(it->second.sizes()) + ")");
      continue;
    }
    const bool float_file = st.dtype == StDtype::F32 || st.dtype == StDtype::F16 || st.dtype == StDtype::BF16 ||
                            st.dtype == StDtype::F64;
    if (float_file != it->second.is_floating_point()) {
      r.mismatched.push_back(name + " (file dtype " + st_dtype_name(st.dtype) + ", model " +
                             std::string(it->second.dtype().name()) + ")");
      continue;
    }
    const torch::Tensor value = from_st_tensor(st);
    if (float_file && !torch::isfinite(value).all().item<bool>()) {
      throw RuntimeError("weights " + origin + ": tensor " + name + " holds NaN or infinite values");
    }
    torch::NoGradGuard no_grad;
    it->second.copy_(value.to(it->second.dtype()));
    ++r.loaded;
  }
  for (const auto& [name, t] : targets) {
    if (starts_with(name, only_prefix) && !seen.count(name)) r.missing.push_back(name);
  }
  if (strict && (!r.missing.empty() || !r.unexpected.empty() || !r.mismatched.empty())) {
    std::string msg = "weights " + origin + " do not fit the model:";
    if (!r.missing.empty()) msg += "\n  missing: " + join(r.missing);
    if (!r.unexpected.empty()) msg += "\n  unexpected: " + join(r.unexpected);
    if (!r.mismatched.empty()) msg += "\n  shape or dtype mismatch: " + join(r.mismatched);
    throw RuntimeError(msg);
  }
  return r;
}

}  // namespace agegender
