#include "model/checkpoint.hpp"

#include <cmath>
#include <filesystem>

#include "agegender/error.hpp"
#include "agegender/models.hpp"
#include "agegender/share_calibration.hpp"
#include "model/optimizer_state_key.hpp"
#include "model/weights.hpp"

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kMetaKey = "agegender";

// Optimizer state per named trainable parameter: optimizer.<param>.<field>.
void add_optimizer_state(FaceNetImpl& model, torch::optim::Optimizer& opt, StFile& file) {
  auto& state = opt.state();
  for (const auto& p : model.named_parameters(true)) {
    auto it = state.find(optimizer_state_key(p.value()));
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
    const auto key = optimizer_state_key(p.value());
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
          {"trainable_conv_layers", s.trainable_conv_layers}, {"age_head", s.age_head}};
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
  s.age_head = j.value("age_head", "bins");  // checkpoints before year heads
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

namespace {

// The agegender metadata of a parsed checkpoint file (read once per load: a checkpoint can be large).
json checkpoint_meta(const StFile& file, const std::string& path) {
  auto it = file.metadata.find(kMetaKey);
  if (it == file.metadata.end()) throw RuntimeError(path + " is not an agegender checkpoint (no agegender metadata)");
  try {
    return json::parse(it->second);
  } catch (const json::parse_error& e) {
    throw RuntimeError(path + ": checkpoint metadata is not valid JSON: " + e.what());
  }
}

void load_weights(const StFile& file, const std::string& path, FaceNetImpl& model, torch::optim::Optimizer* optimizer) {
  load_module_tensors(model, file, path, /*strict=*/true, "", {kOptimizerPrefix});
  if (optimizer) restore_optimizer_state(model, *optimizer, file, path);
}

}  // namespace

json read_checkpoint_meta(const std::string& path) { return checkpoint_meta(read_safetensors(path), path); }

json load_checkpoint(const std::string& path, FaceNetImpl& model, torch::optim::Optimizer* optimizer) {
  const StFile file = read_safetensors(path);
  load_weights(file, path, model, optimizer);
  return checkpoint_meta(file, path);
}

void validate_checkpoint_meta(const ModelSpec& s, const AgeBinning& binning, const ModelInput& input,
                              const std::vector<double>& class_mean_age, const std::string& origin) {
  const auto bad = [&](const std::string& what) { throw RuntimeError(origin + ": bad checkpoint metadata: " + what); };
  const ModelInfo* arch = find_model(s.arch);
  if (!arch) bad("model.arch '" + s.arch + "' is not a registered architecture");
  if (s.head != "gap" && s.head != "flatten") bad("model.head '" + s.head + "' (expected gap or flatten)");
  if (s.age_head != "bins" && s.age_head != "years") bad("model.age_head '" + s.age_head + "' (expected bins or years)");
  if (s.in_channels != 1 && s.in_channels != 3) bad("model.in_channels " + std::to_string(s.in_channels) + " (expected 1 or 3)");
  if (s.input_size < arch->min_input_size || s.input_size > kMaxInputSize) {
    bad("model.input_size " + std::to_string(s.input_size) + " (expected " + std::to_string(arch->min_input_size) + ".." +
        std::to_string(kMaxInputSize) + " for " + s.arch + ")");
  }
  if (!(s.dropout >= 0 && s.dropout < 1)) bad("model.dropout " + std::to_string(s.dropout));
  if (s.trainable_conv_layers < -1 || s.trainable_conv_layers > arch->conv_layers) {
    bad("model.trainable_conv_layers " + std::to_string(s.trainable_conv_layers));
  }
  if (s.num_age_classes == 0 && !s.gender_head) bad("the model has neither an age nor a gender head");
  if (s.num_age_classes != 0 && s.num_age_classes != binning.num_classes()) {
    bad("model.num_age_classes " + std::to_string(s.num_age_classes) + " but the binning has " +
        std::to_string(binning.num_classes()) + " classes");
  }
  if (class_mean_age.size() != static_cast<size_t>(binning.num_classes())) {
    bad("class_mean_age has " + std::to_string(class_mean_age.size()) + " values for " +
        std::to_string(binning.num_classes()) + " age classes");
  }
  for (double a : class_mean_age) {
    if (!std::isfinite(a) || a < 0 || a > 150) bad("class_mean_age holds " + std::to_string(a));
  }
  input.validate(origin);
  if (input.size != s.input_size || input.channels != s.in_channels) {
    bad("input " + std::to_string(input.size) + " px x " + std::to_string(input.channels) + " channels disagrees with model " +
        std::to_string(s.input_size) + " px x " + std::to_string(s.in_channels));
  }
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
  const StFile file = read_safetensors(path);
  m.meta = checkpoint_meta(file, path);
  try {
    m.spec = spec_from_json(m.meta.at("model"));
    m.binning = binning_from_json(m.meta.at("binning"));
    if (m.meta.contains("input")) {
      m.input = ModelInput::from_json(m.meta.at("input"), path);
    } else {  // checkpoints before the input contract: model-size caches, normalisation only
      m.input.size = m.input.source_size = m.spec.input_size;
      m.input.channels = m.spec.in_channels;
      m.input.norm = {m.meta.at("normalization").at("mean").get<std::vector<float>>(),
                      m.meta.at("normalization").at("std").get<std::vector<float>>()};
    }
    m.class_mean_age = m.meta.at("class_mean_age").get<std::vector<double>>();
    if (m.meta.contains("age_share_weights")) m.age_share_weights = m.meta.at("age_share_weights").get<std::vector<double>>();
    if (m.meta.contains("gender_share_weights")) {
      m.gender_share_weights = m.meta.at("gender_share_weights").get<std::vector<double>>();
    }
  } catch (const json::exception& e) {
    throw RuntimeError(path + ": incomplete checkpoint metadata: " + e.what());
  } catch (const UsageError& e) {  // e.g. AgeBinning's own checks: the file is bad, not the command
    throw RuntimeError(path + ": bad checkpoint metadata: " + e.what());
  }
  validate_checkpoint_meta(m.spec, m.binning, m.input, m.class_mean_age, path);
  validate_share_weights(m.age_share_weights, m.binning.num_classes(), path);
  validate_share_weights(m.gender_share_weights, 2, path, "gender_share_weights", "genders");
  m.age_calibration = age_calibration_from_json(m.meta, path);
  m.model = build_model(m.spec);
  load_weights(file, path, *m.model, nullptr);
  m.model->eval();
  return m;
}

}  // namespace agegender
