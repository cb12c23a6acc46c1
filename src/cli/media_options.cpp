// The flags predict and embed share: how media are read, faces found and networks run.
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

void add_media_options(CLI::App* cmd, int& every, int& batch, int64_t& max_pixels, int& threads, std::string& device) {
  cmd->add_option("--every", every, "Video: every N-th frame")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch", batch, "Faces per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-pixels", max_pixels, "Refuse images and video frames larger than this (width x height)")
      ->capture_default_str();
  cmd->add_option("--threads", threads, "Decode/detect threads and LibTorch threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--device", device, "Networks on cpu | cuda | auto (a GPU when LibTorch sees one)")->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
}

}  // namespace agegender::cli
