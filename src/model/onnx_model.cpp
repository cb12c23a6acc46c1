#include "agegender/onnx_model.hpp"

#include "model/onnx_proto.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "agegender/error.hpp"

namespace agegender {
using nlohmann::json;

std::vector<std::pair<std::string, std::string>> onnx_metadata(const ModelInput& input,
                                                               const std::vector<std::string>& class_names,
                                                               const std::vector<double>& class_mean_age,
                                                               const std::string& arch, const std::string& age_head,
                                                               const std::string& binning_json,
                                                               const AgeCalibration& age_calibration) {
  std::vector<std::pair<std::string, std::string>> meta = {
      {kOnnxFormatKey, kOnnxFormatVersion},
      {"input_size", std::to_string(input.size)},
      {"colour_mode", input.channels == 1 ? "gray" : "rgb"},
      {"channels", std::to_string(input.channels)},
      {"layout", "NCHW"},
      {"pixel_transform", "(pixel / 255 - mean) / std per channel"},
      {"mean", json(input.norm.mean).dump()},
      {"std", json(input.norm.std).dump()},
      {"source_size", std::to_string(input.source_size)},
      {"crop", "center"},
      {"resize", "area"},
      {"class_names", json(class_names).dump()},
      {"class_mean_age", json(class_mean_age).dump()},
      {"binning", binning_json},
      {"arch", arch},
      {"age_head", age_head},
  };
  if (!age_calibration.identity()) meta.emplace_back("age_calibration", age_calibration.to_json().dump());
  return meta;
}

namespace {

// One fixed dimension, or -1 for a symbolic one.
std::vector<int64_t> declared_shape(const onnx::ValueInfoProto& v) {
  std::vector<int64_t> dims;
  if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return dims;
  for (const auto& d : v.type().tensor_type().shape().dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return dims;
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + (dims[i] < 0 ? std::string("N") : std::to_string(dims[i]));
  return s + "]";
}

}  // namespace

OnnxModelInfo read_onnx_model_info(const std::string& path) {
  if (std::filesystem::is_directory(path)) {
    throw UsageError("model " + path + " is a folder; this engine takes an .onnx file (agegender export --run " + path +
                     " --out model.onnx)");
  }
  if (!std::filesystem::is_regular_file(path)) {
    throw UsageError("model " + path + " not found (expected an .onnx file written by `agegender export`)");
  }
  const auto bad = [&](const std::string& what) {
    return RuntimeError(path + ": " + what + " (expected an ONNX model written by `agegender export`)");
  };
  onnx::ModelProto model;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in || !model.ParseFromIstream(&in)) throw bad("not a readable ONNX protobuf");
  }
  if (!model.has_graph() || model.graph().input_size() == 0) throw bad("no graph or no graph input");
  std::map<std::string, std::string> meta;
  for (const auto& p : model.metadata_props()) meta[p.key()] = p.value();
  if (!meta.count(kOnnxFormatKey)) throw bad("metadata_props has no '" + std::string(kOnnxFormatKey) + "' entry");
  if (meta[kOnnxFormatKey] != kOnnxFormatVersion) {
    throw bad("format version " + meta[kOnnxFormatKey] + " is not supported by this build (it reads " + kOnnxFormatVersion + ")");
  }
  OnnxModelInfo info;
  info.path = path;
  try {
    const auto at = [&](const std::string& key) -> const std::string& {
      auto it = meta.find(key);
      if (it == meta.end()) throw bad("metadata_props has no '" + key + "' entry");
      return it->second;
    };
    info.input = ModelInput::from_json({{"size", std::stoi(at("input_size"))}, {"channels", std::stoi(at("channels"))},
                                        {"source_size", std::stoi(at("source_size"))}, {"crop", at("crop")},
                                        {"resize", at("resize")}, {"mean", json::parse(at("mean"))},
                                        {"std", json::parse(at("std"))}},
                                       path);
    info.class_names = json::parse(at("class_names")).get<std::vector<std::string>>();
    info.class_mean_age = json::parse(at("class_mean_age")).get<std::vector<double>>();
    info.arch = at("arch");
    info.age_head = at("age_head");
    if (meta.count("age_calibration")) {
      info.age_calibration = age_calibration_from_json({{"age_calibration", json::parse(meta.at("age_calibration"))}}, path);
    }
  } catch (const json::exception& e) {
    throw bad(std::string("bad metadata value: ") + e.what());
  } catch (const std::logic_error& e) {  // std::stoi
    throw bad(std::string("bad metadata number: ") + e.what());
  }
  for (const auto& op : model.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") info.opset = static_cast<int>(op.version());
  }

  // The interface: one input of the metadata's shape, and our named outputs.
  const auto& g = model.graph();
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& in : g.input()) {
    bool is_weight = false;
    for (const auto& init : g.initializer()) is_weight = is_weight || init.name() == in.name();
    if (!is_weight) inputs.push_back(&in);
  }
  const std::vector<int64_t> want = {-1, info.input.channels, info.input.size, info.input.size};
  if (inputs.size() != 1 || inputs[0]->name() != kOnnxInput) {
    throw bad("graph inputs must be exactly one float tensor named '" + std::string(kOnnxInput) + "'");
  }
  std::vector<int64_t> dims = declared_shape(*inputs[0]);
  if (dims.size() != 4 || dims[1] != want[1] || dims[2] != want[2] || dims[3] != want[3] || dims[0] == 0) {
    throw bad("input '" + std::string(kOnnxInput) + "' has shape " + shape_text(dims) + ", the metadata says " + shape_text(want));
  }
  info.dynamic_batch = dims[0] < 0;
  info.batch = info.dynamic_batch ? 0 : static_cast<int>(dims[0]);
  const size_t k = info.class_names.size();
  for (const auto& out : g.output()) {
    const std::vector<int64_t> d = declared_shape(out);
    const auto check = [&](int64_t width) {
      if (d.size() != 2 || d[1] != width) {
        throw bad("output '" + out.name() + "' has shape " + shape_text(d) + ", expected [N, " + std::to_string(width) + "]");
      }
    };
    if (out.name() == kOnnxAgeProbs) check(static_cast<int64_t>(k)), info.has_age_probs = true;
    if (out.name() == kOnnxGenderProbs) check(2), info.has_gender_probs = true;
    if (out.name() == kOnnxAge) check(1), info.has_age = true;
  }
  if (!info.has_age_probs && !info.has_gender_probs) {
    throw bad("no output named '" + std::string(kOnnxAgeProbs) + "' or '" + kOnnxGenderProbs + "'");
  }
  if (info.has_age_probs && info.class_mean_age.size() != k) {
    throw bad("metadata has " + std::to_string(info.class_mean_age.size()) + " class mean ages for " + std::to_string(k) + " age groups");
  }
  return info;
}

}  // namespace agegender
