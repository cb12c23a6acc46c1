// The flags predict, embed and visitors share: how media are read, faces found and networks run.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "agegender/detection_flags.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {

void add_detection_options(CLI::App* cmd, DetectionFlags& f, bool per_face_rows) {
  // Only predict and embed read face crops whole (none); visitors finds faces in frames.
  const std::vector<std::string> modes =
      per_face_rows ? std::vector<std::string>{"auto", "ssd", "tiny", "haar", "none"} : std::vector<std::string>{"auto", "ssd", "tiny", "haar"};
  cmd->add_option("--detect", f.detect,
                  std::string("auto (ssd when the face models are present, else haar") +
                      (per_face_rows ? "; an image that already is one face crop is used whole" : "") +
                      "), ssd, tiny (face-api's detectors), haar (OpenCV)" +
                      (per_face_rows ? ", none (inputs are face crops)" : ""))
      ->capture_default_str()->check(CLI::IsMember(modes));
  cmd->add_option("--cascade", f.cascade, "Haar cascade XML (default: opencv-data's frontal face cascade)");
  cmd->add_option("--models", f.models, "Face models folder (default: $AGEGENDER_MODELS or models/face-api; "
                                      "scripts/fetch_face_models.sh fetches them)");
  cmd->add_option("--min-score", f.min_score, "ssd / tiny: keep faces scoring above this")->capture_default_str()
      ->check(CLI::Range(0.0f, 0.999f));
  cmd->add_option("--min-face", f.min_face, "Drop detected faces smaller than this many pixels")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--align", f.align,
                  "Align each face to UTKFace's framing from its 68 landmarks: auto (on when the landmark model is "
                  "present and a detector runs), on, off")
      ->capture_default_str()->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->add_flag("--small-faces", f.small_faces,
                "ssd / tiny: a second pass over 6 overlapping upscaled tiles for faces under ~60 px (about 10x "
                "the detection time)");
  cmd->add_option("--detect-size", f.detect_size,
                  "ssd / tiny: resize each frame so its long side is this many pixels in the detector's input, "
                  "without padding it to a square (multiple of 32; larger finds smaller faces, slower); 0 = "
                  "face-api's input, the frame padded to a square and resized to 512 (tiny: its input side)")
      ->capture_default_str();
  cmd->add_option("--detect-passes", f.passes,
                  "ssd / tiny: extra detection passes, merged with the main one: a comma list of flip (the mirrored "
                  "frame), rotate[:DEG] (the frame rotated by +-DEG, default 15: tilted faces), bright (shadows lifted: "
                  "dim faces), tiles (upscaled "
                  "tiles: faces under ~60 px; = --small-faces). Each costs about one more detection")
      ->capture_default_str();
  cmd->add_option("--vote-score", f.vote_score,
                  "With --detect-passes: faces scoring from this up to --min-score count too when at least two "
                  "passes find them (0 = off)")
      ->capture_default_str()->check(CLI::Range(0.0f, 0.999f));
  if (per_face_rows) {
    cmd->add_flag("--landmarks", f.landmarks, "Also write each face's detector score and 68 landmarks (x y pairs)");
  }
  cmd->add_option("--landmark-model", f.landmark_model, "full (357 KB) or tiny (77 KB) 68-point landmark net")
      ->capture_default_str()->check(CLI::IsMember({"full", "tiny"}));
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
