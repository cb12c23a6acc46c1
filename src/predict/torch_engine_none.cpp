// The OpenCV-only build (AGEGENDER_WITH_TORCH=OFF): checkpoints need LibTorch; exported .onnx files do not.
#include "agegender/error.hpp"
#include "predict/face_engine.hpp"

namespace agegender {
std::unique_ptr<FaceEngine> make_torch_engine(const std::string& model, const std::string&, int) {
  throw UsageError("--engine torch (" + model + ") needs LibTorch; this agegender was built with AGEGENDER_WITH_TORCH=OFF: "
                   "export the run on a full build (agegender export) and pass --engine opencv --model model.onnx");
}
}  // namespace agegender
