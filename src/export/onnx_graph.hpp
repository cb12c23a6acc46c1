#pragma once
// A thin builder over ONNX's generated protobuf classes (libonnx-dev): nodes, float initializers and
// typed graph inputs/outputs with fresh value names, so the model walker reads like the forward pass.
#include "model/onnx_proto.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace agegender {

class OnnxGraph {
 public:
  explicit OnnxGraph(onnx::GraphProto* graph) : g_(graph) {}

  /// A float initializer named `<prefix>` (made unique); returns its name.
  std::string weight(const std::string& prefix, const std::vector<int64_t>& dims, const std::vector<float>& values);
  /// An int64 initializer (Pad's pads, Reshape's shape).
  std::string ints(const std::string& prefix, const std::vector<int64_t>& values);
  /// Adds `op` over `inputs`; returns its (single) output's name, `output` when given.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output = "");
  /// The name of the last node's output.
  static const std::string& out(const onnx::NodeProto& n) { return n.output(0); }

  /// Graph input/output as a float tensor; a dim < 0 is the symbolic batch "N".
  void input(const std::string& name, const std::vector<int64_t>& dims);
  void output(const std::string& name, const std::vector<int64_t>& dims);

 private:
  std::string fresh(const std::string& prefix);
  onnx::GraphProto* g_;
  int counter_ = 0;
};

/// Attribute helpers.
void set_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values);
void set_int(onnx::NodeProto& n, const std::string& name, int64_t value);
void set_float(onnx::NodeProto& n, const std::string& name, float value);

}  // namespace agegender
