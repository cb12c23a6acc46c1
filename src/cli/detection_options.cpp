#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

namespace agegender::cli {

void add_detection_options(CLI::App* cmd, std::string& detect, std::string& cascade, std::string& models, float& min_score,
                           int& min_face) {
  cmd->add_option("--detect", detect,
                  "auto (ssd when the face models are present, else haar; an image that already is one face crop is "
                  "used whole), ssd, tiny (face-api's detectors), haar (OpenCV), none (inputs are face crops)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "ssd", "tiny", "haar", "none"}));
  cmd->add_option("--cascade", cascade, "Haar cascade XML (default: opencv-data's frontal face cascade)");
  cmd->add_option("--models", models, "Face models folder (default: $AGEGENDER_MODELS or models/face-api; "
                                      "scripts/fetch_face_models.sh fetches them)");
  cmd->add_option("--min-score", min_score, "ssd / tiny: keep faces scoring above this")->capture_default_str()
      ->check(CLI::Range(0.0f, 0.999f));
  cmd->add_option("--min-face", min_face, "Drop detected faces smaller than this many pixels")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

}  // namespace agegender::cli
