#include <CLI/CLI.hpp>
#include <cstdio>

#include "agegender/exporter.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {

void add_export(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand("export", "Write a run's network as an ONNX model (runs without LibTorch, e.g. OpenCV DNN)");
  cmd->add_option("--run", o->run, "Run directory (uses best.safetensors) or a .safetensors checkpoint")->required();
  cmd->add_option("--format", o->format, "Model format")->capture_default_str()->check(CLI::IsMember({"onnx"}));
  cmd->add_option("--opset", o->opset, "ONNX opset version")->capture_default_str()->check(CLI::Range(kMinOpset, kMaxOpset));
  cmd->add_flag("--dynamic-batch", o->dynamic_batch, "Symbolic batch dimension (default: batch 1)");
  cmd->add_option("--out", o->out, "The .onnx file to write")->required();
  cmd->callback([o] {
    const ExportReport r = export_model(*o);
    std::string outputs;
    for (const auto& name : r.outputs) outputs += (outputs.empty() ? "" : ", ") + name;
    std::fprintf(stderr, "export: wrote %s (%.1f MB, %d nodes, opset %d, outputs %s)\n", r.path.c_str(), r.bytes / 1e6, r.nodes,
                 o->opset, outputs.c_str());
  });
}

}  // namespace agegender::cli
