#include "vision/face_detector.hpp"

#include <filesystem>
#include <opencv2/imgproc.hpp>

#include "agegender/error.hpp"
#include "agegender/face_embedder.hpp"
#include "agegender/face_networks.hpp"

namespace agegender {
namespace fs = std::filesystem;

// Box side growth to UTKFace framing for face-api's detectors (measured, see framing_scale()).
// On pasted UTKFace crops SSD boxes measure 0.83x the crop side and Tiny boxes 1.12x; Haar 1.01x with 1.1x
// growth gives 1.11x, so these give the same framing.
constexpr double kSsdFraming = 1.34, kTinyFraming = 1.0;

DetectMode parse_detect_mode(const std::string& s) {
  if (s == "none") return DetectMode::None;
  if (s == "haar") return DetectMode::Haar;
  if (s == "ssd") return DetectMode::Ssd;
  if (s == "tiny") return DetectMode::Tiny;
  if (s == "auto") return DetectMode::Auto;
  throw UsageError("--detect " + s + ": expected auto, ssd, tiny, haar or none");
}

DetectorOptions detector_options(const std::string& detect, const std::string& cascade, const std::string& models,
                                 float min_score, int min_face) {
  DetectorOptions o;
  o.mode = parse_detect_mode(detect);
  o.cascade = cascade;
  o.models = models;
  o.min_score = min_score;
  o.min_face = min_face;
  return o;
}

double framing_scale(DetectMode mode) {
  switch (mode) {
    case DetectMode::Ssd: return kSsdFraming;
    case DetectMode::Tiny: return kTinyFraming;
    default: return 1.1;  // Haar: its box is 1.01x the crop's side; a little slack for jitter
  }
}

std::string default_cascade_path() {
  for (const char* p : {"/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
                        "/usr/local/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
                        "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

FaceDetector::FaceDetector(const DetectorOptions& o, bool scenes_only)
    : mode_(o.mode), auto_(o.mode == DetectMode::Auto), scenes_only_(scenes_only), options_(o) {
  if (o.min_face < 0) throw UsageError("--min-face " + std::to_string(o.min_face) + ": expected pixels >= 0");
  if (!(o.min_score >= 0 && o.min_score < 1)) {
    throw UsageError("--min-score " + std::to_string(o.min_score) + ": expected a score in 0..1");
  }
  const std::string models = face_models_dir(o.models);
  if (mode_ == DetectMode::Auto) {
    const bool have_ssd = fs::exists(fs::path(models) / "ssd_mobilenetv1_model-weights_manifest.json");
    mode_ = have_ssd ? DetectMode::Ssd : DetectMode::Haar;
  }
  if (mode_ == DetectMode::None) return;
  if (mode_ == DetectMode::Ssd || mode_ == DetectMode::Tiny) {
    FaceDetectorOptions net;
    net.min_score = o.min_score;
    net.input_size = o.tiny_input;
    const auto kind = mode_ == DetectMode::Ssd ? FaceDetectorNet::Kind::Ssd : FaceDetectorNet::Kind::Tiny;
    net_ = std::make_unique<FaceDetectorNet>(kind, models, net);
    return;
  }
  const std::string path = o.cascade.empty() ? default_cascade_path() : o.cascade;
  if (path.empty()) {
    throw UsageError("face detection needs OpenCV's Haar cascade: install opencv-data or pass --cascade FILE "
                     "(or use --detect none for face crops)");
  }
  if (!cascade_.load(path)) throw UsageError("--cascade " + path + ": not a readable Haar cascade XML");
}

FaceDetector::~FaceDetector() = default;

std::vector<cv::Rect> FaceDetector::network(const cv::Mat& bgr) const {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  std::vector<cv::Rect> found;
  for (const FaceBox& b : net_->detect({rgb.data, rgb.rows, rgb.cols})) {
    found.emplace_back(static_cast<int>(std::lround(b.x)), static_cast<int>(std::lround(b.y)),
                       static_cast<int>(std::lround(b.w)), static_cast<int>(std::lround(b.h)));
  }
  return found;
}

std::vector<cv::Rect> FaceDetector::raw(const cv::Mat& bgr) const {
  std::vector<cv::Rect> found = net_ ? network(bgr) : haar(bgr);
  const auto too_small = [&](const cv::Rect& r) { return r.area() <= 0 || std::max(r.width, r.height) < options_.min_face; };
  found.erase(std::remove_if(found.begin(), found.end(), too_small), found.end());
  // Stable order for reproducible face indices: top to bottom, then left to right.
  std::sort(found.begin(), found.end(), [](const cv::Rect& a, const cv::Rect& b) {
    return a.y != b.y ? a.y < b.y : a.x < b.x;
  });
  return found;
}

std::vector<cv::Rect> FaceDetector::haar(const cv::Mat& bgr) const {
  // Detect on a copy at most 1024 px on its long side: an 8000 px photo would otherwise take minutes.
  const double scale = std::min(1.0, 1024.0 / std::max(bgr.cols, bgr.rows));
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  if (scale < 1.0) cv::resize(gray, gray, cv::Size(), scale, scale, cv::INTER_AREA);
  // No equalizeHist: on composed scenes it cut recall from 96% to 70% (tests/test_integration_predict.cpp).
  std::vector<cv::Rect> found;
  const int min_side = std::max(20, std::min(gray.cols, gray.rows) / 20);
  cascade_.detectMultiScale(gray, found, 1.1, 5, 0, cv::Size(min_side, min_side));
  for (auto& r : found) {
    r = cv::Rect(static_cast<int>(r.x / scale), static_cast<int>(r.y / scale), static_cast<int>(r.width / scale),
                 static_cast<int>(r.height / scale));
  }
  return found;
}

std::vector<cv::Rect> FaceDetector::detect(const cv::Mat& bgr) const {
  const cv::Rect whole(0, 0, bgr.cols, bgr.rows);
  if (mode_ == DetectMode::None) return {whole};
  std::vector<cv::Rect> faces = raw(bgr);
  if (auto_ && !scenes_only_) {
    const double aspect = static_cast<double>(bgr.cols) / std::max(1, bgr.rows);
    const bool squarish = aspect > 0.75 && aspect < 1.33;
    const bool fills = faces.size() == 1 && faces[0].width * 2 >= bgr.cols;
    if (fills || (faces.empty() && squarish)) return {whole};
  }
  for (auto& f : faces) f = expand_face_box(f, framing_scale(mode_));
  return faces;
}

cv::Rect expand_face_box(const cv::Rect& box, double scale) {
  const double cx = box.x + box.width / 2.0, cy = box.y + box.height / 2.0;
  const int side = static_cast<int>(std::lround(std::max(box.width, box.height) * scale));
  return {static_cast<int>(std::lround(cx - side / 2.0)), static_cast<int>(std::lround(cy - side / 2.0)), side, side};
}

cv::Mat crop_face(const cv::Mat& bgr, const cv::Rect& box) {
  const cv::Rect inside = box & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (inside == box) return bgr(box);
  if (inside.empty()) return bgr;
  cv::Mat out;
  const int top = std::max(0, -box.y), left = std::max(0, -box.x);
  const int bottom = std::max(0, box.y + box.height - bgr.rows), right = std::max(0, box.x + box.width - bgr.cols);
  cv::copyMakeBorder(bgr(inside), out, top, bottom, left, right, cv::BORDER_REPLICATE);
  return out;
}

}  // namespace agegender
