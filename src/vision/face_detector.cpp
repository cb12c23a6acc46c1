#include "vision/face_detector.hpp"

#include <filesystem>
#include <opencv2/imgproc.hpp>

#include "agegender/error.hpp"

namespace agegender {

DetectMode parse_detect_mode(const std::string& s) {
  if (s == "none") return DetectMode::None;
  if (s == "haar") return DetectMode::Haar;
  if (s == "auto") return DetectMode::Auto;
  throw UsageError("--detect " + s + ": expected auto, none or haar");
}

std::string default_cascade_path() {
  for (const char* p : {"/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
                        "/usr/local/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
                        "/usr/share/opencv/haarcascades/haarcascade_frontalface_default.xml"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

FaceDetector::FaceDetector(DetectMode mode, const std::string& cascade_path, bool scenes_only)
    : mode_(mode), scenes_only_(scenes_only) {
  if (mode == DetectMode::None) return;
  const std::string path = cascade_path.empty() ? default_cascade_path() : cascade_path;
  if (path.empty()) {
    throw UsageError("face detection needs OpenCV's Haar cascade: install opencv-data or pass --cascade FILE "
                     "(or use --detect none for face crops)");
  }
  if (!cascade_.load(path)) throw UsageError("--cascade " + path + ": not a readable Haar cascade XML");
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
  // Stable order for reproducible face indices: top to bottom, then left to right.
  std::sort(found.begin(), found.end(), [](const cv::Rect& a, const cv::Rect& b) {
    return a.y != b.y ? a.y < b.y : a.x < b.x;
  });
  return found;
}

std::vector<cv::Rect> FaceDetector::detect(const cv::Mat& bgr) const {
  const cv::Rect whole(0, 0, bgr.cols, bgr.rows);
  if (mode_ == DetectMode::None) return {whole};
  std::vector<cv::Rect> faces = haar(bgr);
  if (mode_ == DetectMode::Auto && !scenes_only_) {
    const double aspect = static_cast<double>(bgr.cols) / std::max(1, bgr.rows);
    const bool squarish = aspect > 0.75 && aspect < 1.33;
    const bool fills = faces.size() == 1 && faces[0].width * 2 >= bgr.cols;
    if (fills || (faces.empty() && squarish)) return {whole};
  }
  for (auto& f : faces) f = expand_face_box(f);
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
