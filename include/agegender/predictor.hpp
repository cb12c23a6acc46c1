#pragma once
// `agegender predict`: faces in images, folders and videos -> age group and gender rows + demographics.
#include <nlohmann/json.hpp>
#include <string>

#include "agegender/image_limits.hpp"

namespace agegender {

struct PredictOptions {
  std::string model;            // run directory or .safetensors checkpoint
  std::string input;            // image, folder (recursive) or video
  std::string out;              // results file; "" or "-" = stdout
  std::string format = "csv";   // csv | jsonl
  std::string detect = "auto";  // auto (ssd with the face models, else haar) | ssd | tiny | haar | none
  std::string cascade;          // Haar cascade XML ("" = opencv-data's frontal face cascade)
  std::string models;           // face models folder ("" = $AGEGENDER_MODELS or models/face-api)
  float min_score = 0.5f;       // ssd / tiny: keep faces scoring above this
  int min_face = 0;             // drop detected faces smaller than this (pixels)
  std::string annotate;         // folder for annotated images, or a video file for video input
  int every = 1;                // video: every N-th frame
  int batch = 64;
  int threads = 0;
  int64_t max_pixels = kDefaultMaxPixels;  // larger images and video frames are errors, never decoded
  std::string device = "auto";  // model on cpu | cuda | auto (decode and detection stay on the CPU)
  bool summary = false;
  std::string summary_json;     // default: <out>.summary.json when --summary and out is a file
  int summary_window = 300;     // video: frames per summary window
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
