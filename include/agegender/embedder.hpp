#pragma once
// `agegender embed`: a 128-d face descriptor for every face in images, folders and videos.
// Descriptors are biometric data: this is the one command that writes them, and only where told.
#include <cstdint>
#include <string>

#include "agegender/detection_flags.hpp"
#include "agegender/image_limits.hpp"

namespace agegender {

struct EmbedOptions : DetectionFlags {
  std::string input;             // image, folder (recursive) or video
  std::string out;               // FILE.jsonl or FILE.csv (required: descriptors never go to a terminal by default)
  std::string format;            // csv | jsonl; "" = from the --out extension
  int every = 1;                 // video: every N-th frame
  int batch = 64;
  int threads = 0;
  std::string device = "auto";
  int64_t max_pixels = kDefaultMaxPixels;
  bool quiet = false;
};

struct EmbedReport {
  size_t inputs = 0, read_ok = 0, faces = 0, errors = 0;
  double seconds = 0;
};

/// Throws UsageError for bad paths/options or missing models; RuntimeError when no input could be read.
EmbedReport run_embed(const EmbedOptions& options);

}  // namespace agegender
