#pragma once
// The contract of an exported agegender .onnx file (torch-free: the exporter writes it, predict's OpenCV
// engine reads it): tensor names, and the preprocessing and labels carried in the model's metadata_props
// so that a consumer needs nothing but the file.
//   input        float [N, C, S, S]: (pixel / 255 - mean) / std per channel, RGB (or gray) CHW
//   age_probs    float [N, K]: softmax over the K age groups (a year head's year probabilities summed per group)
//   gender_probs float [N, 2]: softmax, index 1 = female
//   age          float [N, 1]: expected age in years (year heads only), through the age calibration
#include <string>
#include <vector>

#include "agegender/age_calibration.hpp"
#include "agegender/preprocess.hpp"

namespace agegender {

inline constexpr const char* kOnnxInput = "input";
inline constexpr const char* kOnnxAgeProbs = "age_probs";
inline constexpr const char* kOnnxGenderProbs = "gender_probs";
inline constexpr const char* kOnnxAge = "age";
/// metadata_props key that marks a file as ours; its value is the contract's version.
inline constexpr const char* kOnnxFormatKey = "agegender_onnx";
inline constexpr const char* kOnnxFormatVersion = "1";

/// What the metadata says, plus the graph's declared interface.
struct OnnxModelInfo {
  std::string path;
  ModelInput input;
  std::vector<std::string> class_names;  // one per age group
  std::vector<double> class_mean_age;    // one per age group (expected age of a bins head)
  AgeCalibration age_calibration;        // already applied to `age` in the graph; TTA averages views before it
  std::string arch, age_head;
  bool has_age_probs = false, has_gender_probs = false, has_age = false;
  bool dynamic_batch = false;  // input dimension 0 is symbolic; else fixed at batch
  int batch = 1;
  int opset = 0;
};

/// The metadata_props of an export: key -> value (lists and numbers as JSON text).
std::vector<std::pair<std::string, std::string>> onnx_metadata(const ModelInput& input,
                                                               const std::vector<std::string>& class_names,
                                                               const std::vector<double>& class_mean_age,
                                                               const std::string& arch, const std::string& age_head,
                                                               const std::string& binning_json,
                                                               const AgeCalibration& age_calibration = {});

/// Reads and checks an exported model without running it. Missing file -> UsageError; a file that is not
/// ONNX, or an ONNX model not written by `agegender export` (no metadata, other input/outputs, shapes that
/// disagree with the metadata) -> RuntimeError naming the file and what was expected.
OnnxModelInfo read_onnx_model_info(const std::string& path);

}  // namespace agegender
