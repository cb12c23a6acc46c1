// A build without libonnx-dev: exported models cannot be read.
#include "agegender/error.hpp"
#include "agegender/onnx_model.hpp"

namespace agegender {
OnnxModelInfo read_onnx_model_info(const std::string& path) {
  throw UsageError("cannot read " + path + ": this agegender was built without libonnx-dev (ONNX), so --engine opencv is unavailable");
}
}  // namespace agegender
