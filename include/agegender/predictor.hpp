#pragma once
// `agegender predict`: faces in images, folders and videos -> age group and gender rows + demographics.
#include <nlohmann/json.hpp>
#include <string>

#include "agegender/detection_flags.hpp"
#include "agegender/image_limits.hpp"

namespace agegender {

struct PredictOptions : DetectionFlags {
  std::string model;            // torch: run directory or .safetensors checkpoint; opencv: an exported .onnx
  std::string engine = "torch"; // torch (LibTorch) | opencv (OpenCV DNN on `agegender export`'s .onnx)
  std::string input;            // image, folder (recursive) or video
  std::string out;              // results file; "" or "-" = stdout
  std::string format = "csv";   // csv | jsonl
  std::string annotate;         // folder for annotated images, or a video file for video input
  int every = 1;                // video: every N-th frame
  int batch = 64;
  int threads = 0;
  int64_t max_pixels = kDefaultMaxPixels;  // larger images and video frames are errors, never decoded
  std::string device = "auto";  // model on cpu | cuda | auto (decode and detection stay on the CPU)
  bool summary = false;
  std::string summary_json;     // default: <out>.summary.json when --summary and out is a file
  int summary_window = 300;     // video: frames per summary window
  bool tta = false;             // average each face's and its horizontal flip's probabilities
  bool quiet = false;
};

struct PredictReport {
  size_t inputs = 0, read_ok = 0, faces = 0, errors = 0;
  double seconds = 0;
  nlohmann::json summary;  // demographics (faces per age group x gender, per window for video)
  std::string summary_table;
};

/// Throws UsageError for bad paths/options; RuntimeError when no input at all could be read.
PredictReport run_predict(const PredictOptions& options);

}  // namespace agegender
