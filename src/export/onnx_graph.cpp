#include "export/onnx_graph.hpp"

namespace agegender {

namespace {

void set_tensor_type(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = t->mutable_shape();
  for (int64_t d : dims) {
    auto* dim = shape->add_dim();
    if (d < 0) {
      dim->set_dim_param("N");
    } else {
      dim->set_dim_value(d);
    }
  }
}

}  // namespace

std::string OnnxGraph::fresh(const std::string& prefix) { return prefix + "_" + std::to_string(counter_++); }

std::string OnnxGraph::weight(const std::string& prefix, const std::vector<int64_t>& dims, const std::vector<float>& values) {
  onnx::TensorProto* t = g_->add_initializer();
  t->set_name(fresh(prefix));
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  // Little-endian raw bytes, as ONNX specifies raw_data.
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return t->name();
}

std::string OnnxGraph::ints(const std::string& prefix, const std::vector<int64_t>& values) {
  onnx::TensorProto* t = g_->add_initializer();
  t->set_name(fresh(prefix));
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
  return t->name();
}

onnx::NodeProto& OnnxGraph::node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
  onnx::NodeProto* n = g_->add_node();
  n->set_op_type(op);
  const std::string out = output.empty() ? fresh(op) : output;
  n->set_name(out + "_node");
  for (const auto& in : inputs) n->add_input(in);
  n->add_output(out);
  return *n;
}

void OnnxGraph::input(const std::string& name, const std::vector<int64_t>& dims) { set_tensor_type(g_->add_input(), name, dims); }

void OnnxGraph::output(const std::string& name, const std::vector<int64_t>& dims) { set_tensor_type(g_->add_output(), name, dims); }

void set_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void set_int(onnx::NodeProto& n, const std::string& name, int64_t value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void set_float(onnx::NodeProto& n, const std::string& name, float value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

}  // namespace agegender
