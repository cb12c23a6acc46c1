// A build without libonnx-dev: no ONNX export.
#include "agegender/error.hpp"
#include "agegender/exporter.hpp"

namespace agegender {
ExportReport export_model(const ExportOptions&) {
  throw UsageError("export needs ONNX's protobuf classes; this agegender was built without libonnx-dev (scripts/setup.sh installs it)");
}
}  // namespace agegender
