#include "agegender/exporter.hpp"

#include "model/onnx_proto.hpp"

#include <filesystem>

#include "agegender/atomic_file.hpp"
#include "agegender/error.hpp"
#include "agegender/onnx_model.hpp"
#include "agegender/version.hpp"
#include "export/model_to_onnx.hpp"
#include "model/checkpoint.hpp"

namespace agegender {

namespace {

void check_options(const ExportOptions& o) {
  if (o.format != "onnx") throw UsageError("--format '" + o.format + "' is not supported (expected onnx)");
  if (o.opset < kMinOpset || o.opset > kMaxOpset) {
    throw UsageError("--opset " + std::to_string(o.opset) + " is outside " + std::to_string(kMinOpset) + ".." + std::to_string(kMaxOpset));
  }
  if (o.out.empty()) throw UsageError("--out is required (the .onnx file to write)");
  const auto dir = std::filesystem::path(o.out).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir)) throw UsageError("--out " + o.out + ": folder " + dir.string() + " does not exist");
}

}  // namespace

ExportReport export_model(const ExportOptions& o) {
  check_options(o);
  LoadedModel m = load_trained_model(o.run);
  if (m.input.size != m.spec.input_size || m.input.channels != m.spec.in_channels) {
    throw RuntimeError(m.path + ": input contract " + std::to_string(m.input.size) + " px x " + std::to_string(m.input.channels) +
                       " channels disagrees with the model spec");
  }
  onnx::ModelProto model;
  // IR 7 is what opsets 13-14 came with, IR 8 opsets 15-17 (onnx/docs/Versioning.md).
  model.set_ir_version(o.opset >= 15 ? 8 : 7);
  model.set_producer_name("agegender");
  model.set_producer_version(std::string(version()) + " (git " + git_revision() + ")");
  model.set_doc_string("agegender " + m.spec.arch + " age/gender model exported from " + m.path);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(o.opset);
  model_to_onnx(*m.model, m.binning, m.age_calibration, o.dynamic_batch, model.mutable_graph());
  for (const auto& [key, value] : onnx_metadata(m.input, m.binning.class_names(), m.class_mean_age, m.spec.arch, m.spec.age_head,
                                                binning_json(m.binning).dump(), m.age_calibration)) {
    auto* p = model.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
  }
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw RuntimeError("export: cannot serialise the ONNX model for " + o.out);
  write_file_atomic(o.out, bytes);
  ExportReport r;
  r.path = o.out;
  r.bytes = static_cast<int64_t>(bytes.size());
  r.nodes = model.graph().node_size();
  for (const auto& out : model.graph().output()) r.outputs.push_back(out.name());
  return r;
}

}  // namespace agegender
