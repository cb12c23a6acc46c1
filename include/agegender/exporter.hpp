#pragma once
// `agegender export`: a run's trained network as a self-contained ONNX model (onnx_model.hpp describes the
// file), so that OpenCV DNN, ONNX Runtime or TensorRT can run it without LibTorch.
#include <cstdint>
#include <string>
#include <vector>

namespace agegender {

struct ExportOptions {
  std::string run;              // run directory (best.safetensors) or a .safetensors checkpoint
  std::string format = "onnx";  // the only format so far
  int opset = 13;               // ONNX opset 13..17 (the graph is the same; the IR version follows)
  bool dynamic_batch = false;   // input dimension 0 symbolic ("N"); else fixed at 1
  std::string out;              // the .onnx file (written atomically)
};

struct ExportReport {
  std::string path;
  int64_t bytes = 0;
  int nodes = 0;
  std::vector<std::string> outputs;
};

inline constexpr int kMinOpset = 13, kMaxOpset = 17;

/// Throws UsageError for bad options or a missing run, RuntimeError for a module the exporter does not know.
ExportReport export_model(const ExportOptions& options);

}  // namespace agegender
