#include "train/checkpoint.hpp"

#include <filesystem>

#include "agegender/error.hpp"
#include "models/weights.hpp"

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kMetaKey = "agegender";

// Optimizer state per named trainable parameter: optimizer.<param>.<field>.
void add_optimizer_state(FaceNetImpl& model, torch::optim::Optimizer& opt, StFile& file) {
  auto& state = opt.state();
  for (const auto& p : model.named_parameters(true)) {
    auto it = state.find(c10::guts::to_string(p.value().unsafeGetTensorImpl()));
    if (it == state.end()) continue;
    const std::string base = std::string(kOptimizerPrefix) + p.key() + ".";
    if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(it->second.get())) {
      file.tensors[base + "exp_avg"] = to_st_tensor(adam->exp_avg());
      file.tensors[base + "exp_avg_sq"] = to_st_tensor(adam->exp_avg_sq());
      file.tensors[base + "step"] = to_st_tensor(torch::tensor(adam->step(), torch::kLong));
    } else if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(it->second.get())) {
      file.tensors[base + "momentum_buffer"] = to_st_tensor(sgd->momentum_buffer());
    }
  }
}

void restore_optimizer_state(FaceNetImpl& model, torch::optim::Optimizer& opt, const StFile& file,
                             const std::string& origin) {
  auto& state = opt.state();
  const bool is_adam = dynamic_cast<torch::optim::Adam*>(&opt) != nullptr;
  for (const auto& p : model.named_parameters(true)) {
    if (!p.value().requires_grad()) continue;
    const std::string base = std::string(kOptimizerPrefix) + p.key() + ".";
    auto get = [&](const std::string& field) -> const StTensor* {
      auto it = file.tensors.find(base + field);
      return it == file.tensors.end() ? nullptr : &it->second;
    };
    const std::string key = c10::guts::to_string(p.value().unsafeGetTensorImpl());
    const auto device = p.value().device();
    if (is_adam) {
      const StTensor *m = get("exp_avg"), *v = get("exp_avg_sq"), *s = get("step");
      if (!m || !v || !s) continue;  // parameter had not been stepped yet
      auto st = std::make_unique<torch::optim::AdamParamState>();
      st->exp_avg(from_st_tensor(*m).to(device));
      st->exp_avg_sq(from_st_tensor(*v).to(device));
      st->step(from_st_tensor(*s).item<int64_t>());
      if (st->exp_avg().sizes() != p.value().sizes()) throw RuntimeError(origin + ": optimizer state shape mismatch at " + p.key());
      state[key] = std::move(st);
    } else if (const StTensor* buf = get("momentum_buffer")) {
      auto st = std::make_unique<torch::optim::SGDParamState>();
      st->momentum_buffer(from_st_tensor(*buf).to(device));
      state[key] = std::move(st);
    }
  }
}

}  // namespace

json spec_json(const ModelSpec& s) {
  return {{"arch", s.arch}, {"head", s.head}, {"dropout", s.dropout}, {"in_channels", s.in_channels},
          {"input_size", s.input_size}, {"num_age_classes", s.num_age_classes}, {"gender_head", s.gender_head},
          {"trainable_conv_layers", s.trainable_conv_layers}};
}

ModelSpec spec_from_json(const json& j) {
  ModelSpec s;
  s.arch = j.at("arch");
  s.head = j.at("head");
  s.dropout = j.at("dropout");
  s.in_channels = j.at("in_channels");
  s.input_size = j.at("input_size");
  s.num_age_classes = j.at("num_age_classes");
  s.gender_head = j.at("gender_head");
  s.trainable_conv_layers = j.at("trainable_conv_layers");
  return s;
}

json binning_json(const AgeBinning& b) {
  return {{"strategy", b.strategy()}, {"edges", b.edges()}, {"names", b.class_names()}};
}

AgeBinning binning_from_json(const json& j) {
  return AgeBinning(j.at("edges").get<std::vector<int>>(), j.at("strategy").get<std::string>());
}

void save_checkpoint(const std::string& path, FaceNetImpl& model, torch::optim::Optimizer* optimizer,
                     const json& meta) {
  StFile file;
  add_module_tensors(model, file);
  if (optimizer) add_optimizer_state(model, *optimizer, file);
  file.metadata["format"] = "pt";  // what Hugging Face tooling expects of torch weights
  file.metadata[kMetaKey] = meta.dump();
  write_safetensors(path, file);
}

json read_checkpoint_meta(const std::string& path) {
  const StFile file = read_safetensors(path);
  auto it = file.metadata.find(kMetaKey);
  if (it == file.metadata.end()) throw RuntimeError(path + " is not an agegender checkpoint (no agegender metadata)");
  try {
    return json::parse(it->second);
  } catch (const json::parse_error& e) {
    throw RuntimeError(path + ": checkpoint metadata is not valid JSON: " + e.what());
  }
}

json load_checkpoint(const std::string& path, FaceNetImpl& model, torch::optim::Optimizer* optimizer) {
  const StFile file = read_safetensors(path);
  load_module_tensors(model, file, path, /*strict=*/true, "", {kOptimizerPrefix});
  if (optimizer) restore_optimizer_state(model, *optimizer, file, path);
  auto it = file.metadata.find(kMetaKey);
  if (it == file.metadata.end()) throw RuntimeError(path + " is not an agegender checkpoint (no agegender metadata)");
  return json::parse(it->second);
}

LoadedModel load_trained_model(const std::string& run_dir_or_file) {
  std::string path = run_dir_or_file;
  if (fs::is_directory(path)) path = (fs::path(path) / kBestCheckpoint).string();
  if (!fs::is_regular_file(path)) {
    throw UsageError("model " + run_dir_or_file + " not found (expected a run directory with " + kBestCheckpoint +
                     " or a .safetensors checkpoint)");
  }
  LoadedModel m;
  m.path = path;
  m.meta = read_checkpoint_meta(path);
  try {
    m.spec = spec_from_json(m.meta.at("model"));
    m.binning = binning_from_json(m.meta.at("binning"));
    m.norm = {m.meta.at("normalization").at("mean").get<std::vector<float>>(),
              m.meta.at("normalization").at("std").get<std::vector<float>>()};
    m.class_mean_age = m.meta.at("class_mean_age").get<std::vector<double>>();
  } catch (const json::exception& e) {
    throw RuntimeError(path + ": incomplete checkpoint metadata: " + e.what());
  }
  m.model = build_model(m.spec);
  load_checkpoint(path, *m.model, nullptr);
  m.model->eval();
  return m;
}

}  // namespace agegender
