#pragma once
// What predict needs from a network, whichever runs it (LibTorch on a checkpoint, OpenCV DNN on an
// exported .onnx): the input contract, the age groups, and probabilities for a batch of faces.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agegender/preprocess.hpp"

namespace agegender {

/// Per face, appended in order: K age-group probabilities, expected age, P(female) (each empty when the
/// model has no such head).
struct EngineOutput {
  std::vector<float> age_probs, ages, female_probs;
};

class FaceEngine {
 public:
  virtual ~FaceEngine() = default;
  virtual const ModelInput& input() const = 0;
  virtual const std::vector<std::string>& class_names() const = 0;
  /// `x`: n faces of normalised pixels (n x C x S x S); with `tta` the horizontally flipped faces' probabilities
  /// are averaged in.
  virtual void run(const float* x, int64_t n, bool tta, EngineOutput& out) = 0;
};

/// `model`: run directory or .safetensors; `device` as --device. Sets LibTorch's thread count.
std::unique_ptr<FaceEngine> make_torch_engine(const std::string& model, const std::string& device, int threads);
/// `model`: an .onnx file from `agegender export` (read_onnx_model_info's errors). Sets OpenCV's thread count.
std::unique_ptr<FaceEngine> make_opencv_engine(const std::string& model, int threads);

}  // namespace agegender
