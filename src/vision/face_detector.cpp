#include "vision/face_detector.hpp"

#include <filesystem>
#include <sstream>
#include <opencv2/imgproc.hpp>

#include "agegender/error.hpp"
#include "agegender/face_embedder.hpp"
#include "agegender/face_networks.hpp"
#include "vision/detection_passes.hpp"
#include "vision/face_align.hpp"

namespace agegender {
namespace fs = std::filesystem;

// Medians over 48 clean UTKFace crops pasted at 48-240 px into 640x480 frames (bench_detect_scenes'
// calibration, 2026-11-29): SSD boxes are narrower than the crop and as tall, Tiny's wider, Haar's about
// the crop; all sit a little high except Tiny's.
constexpr BoxConvention kHaarBoxes{1.020, 1.020, -0.009, -0.086};
constexpr BoxConvention kSsdBoxes{0.831, 1.000, -0.010, -0.062};
constexpr BoxConvention kTinyBoxes{1.190, 1.087, -0.027, 0.053};
constexpr double kFramingSlack = 1.1;  // UTKFace's crop grown 10 %: detector jitter must not cut the face
// Aligned crops are cut at the face's own resolution within these bounds (consumers resize them).
constexpr int kMinAlignedSide = 32, kMaxAlignedSide = 400;

static bool has_face_model(const std::string& models, const std::string& name) {
  return fs::exists(fs::path(models) / (name + "-weights_manifest.json"));
}

DetectMode parse_detect_mode(const std::string& s) {
  if (s == "none") return DetectMode::None;
  if (s == "haar") return DetectMode::Haar;
  if (s == "ssd") return DetectMode::Ssd;
  if (s == "tiny") return DetectMode::Tiny;
  if (s == "auto") return DetectMode::Auto;
  throw UsageError("--detect " + s + ": expected auto, ssd, tiny, haar or none");
}

AlignMode parse_align_mode(const std::string& s) {
  if (s == "auto") return AlignMode::Auto;
  if (s == "on") return AlignMode::On;
  if (s == "off") return AlignMode::Off;
  throw UsageError("--align " + s + ": expected auto, on or off");
}

BoxConvention box_convention(DetectMode mode) {
  switch (mode) {
    case DetectMode::Haar: return kHaarBoxes;
    case DetectMode::Ssd: return kSsdBoxes;
    case DetectMode::Tiny: return kTinyBoxes;
    default: return {};
  }
}

cv::Rect2d BoxConvention::crop_of(const cv::Rect2d& box) const {
  const double side = (box.width / w + box.height / h) / 2;
  const double cx = box.x + box.width / 2 - dx * side, cy = box.y + box.height / 2 - dy * side;
  return {cx - side / 2, cy - side / 2, side, side};
}

cv::Rect2d BoxConvention::box_of(const cv::Rect2d& crop) const {
  const double cx = crop.x + crop.width * (0.5 + dx), cy = crop.y + crop.height * (0.5 + dy);
  return {cx - crop.width * w / 2, cy - crop.height * h / 2, crop.width * w, crop.height * h};
}

static cv::Rect to_pixels(const cv::Rect2d& r) {
  return {static_cast<int>(std::lround(r.x)), static_cast<int>(std::lround(r.y)), static_cast<int>(std::lround(r.width)),
          static_cast<int>(std::lround(r.height))};
}

cv::Rect framed_face_box(const cv::Rect& box, DetectMode mode) {
  const cv::Rect2d crop = box_convention(mode).crop_of(cv::Rect2d(box));
  const double side = crop.width * kFramingSlack;
  return to_pixels({crop.x + crop.width / 2 - side / 2, crop.y + crop.height / 2 - side / 2, side, side});
}

DetectorOptions detector_options(const DetectionFlags& f) {
  DetectorOptions o;
  o.mode = parse_detect_mode(f.detect);
  o.cascade = f.cascade;
  o.models = f.models;
  o.min_score = f.min_score;
  o.min_face = f.min_face;
  o.align = parse_align_mode(f.align);
  o.landmarks = f.landmarks;
  if (f.landmark_model != "full" && f.landmark_model != "tiny") {
    throw UsageError("--landmark-model " + f.landmark_model + ": expected full or tiny");
  }
  o.tiny_landmarks = f.landmark_model == "tiny";
  o.small_faces = f.small_faces;
  o.fit_side = f.detect_size;
  parse_detect_passes(f.passes, o);
  if (f.vote_score > 0) {
    if (f.passes.empty() && !f.small_faces) throw UsageError("--vote-score needs --detect-passes (votes come from passes)");
    if (f.vote_score >= f.min_score) {
      throw UsageError("--vote-score " + std::to_string(f.vote_score) + ": expected a score below --min-score " +
                       std::to_string(f.min_score));
    }
    o.merge.sure_score = f.min_score;
    o.min_score = f.vote_score;
    o.merge.min_votes = 2;
  }
  return o;
}

void parse_detect_passes(const std::string& list, DetectorOptions& o) {
  std::stringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    if (item == "flip") {
      o.flip_pass = true;
    } else if (item == "bright") {
      o.bright_pass = true;
    } else if (item == "tiles") {
      o.small_faces = true;
    } else if (item == "rotate" || item.rfind("rotate:", 0) == 0) {
      o.rotation_pass = 15;
      if (item.size() > 7) {
        char* end = nullptr;
        o.rotation_pass = std::strtod(item.c_str() + 7, &end);
        if (*end != '\0' || !(o.rotation_pass > 0 && o.rotation_pass <= 45)) {
          throw UsageError("--detect-passes " + item + ": expected rotate:DEG with DEG in (0, 45]");
        }
      }
    } else {
      throw UsageError("--detect-passes " + list + ": unknown pass '" + item + "' (expected flip, rotate[:DEG], bright, tiles)");
    }
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
  if (!valid_fit_side(o.fit_side)) {
    throw UsageError("--detect-size " + std::to_string(o.fit_side) + ": expected 0 (face-api's square input) or a multiple "
                     "of 32 from 128 to 4096");
  }
  const bool passes = o.small_faces || o.flip_pass || o.bright_pass || o.rotation_pass != 0;
  if ((passes || o.fit_side != 0) && (mode_ == DetectMode::Haar || mode_ == DetectMode::None)) {
    throw UsageError(std::string(passes ? "--detect-passes / --small-faces" : "--detect-size") +
                     ": applies to --detect ssd, tiny or auto, not --detect " + (mode_ == DetectMode::Haar ? "haar" : "none"));
  }
  const std::string models = face_models_dir(o.models);
  if (mode_ == DetectMode::Auto) mode_ = has_face_model(models, "ssd_mobilenetv1_model") ? DetectMode::Ssd : DetectMode::Haar;
  const std::string landmark_model = o.tiny_landmarks ? "face_landmark_68_tiny_model" : "face_landmark_68_model";
  align_ = o.align == AlignMode::On ||
           (o.align == AlignMode::Auto && mode_ != DetectMode::None && has_face_model(models, landmark_model));
  if (align_ || o.landmarks) landmark_net_ = std::make_unique<LandmarkNet>(o.tiny_landmarks, models);
  if (mode_ == DetectMode::None) return;
  if (mode_ == DetectMode::Ssd || mode_ == DetectMode::Tiny) {
    FaceDetectorOptions net;
    net.min_score = o.min_score;
    net.input_size = o.tiny_input;
    net.fit_side = o.fit_side;
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

static std::vector<Detection> run_net(FaceDetectorNet& net, const cv::Mat& rgb) {
  std::vector<Detection> found;
  for (const FaceBox& b : net.detect({rgb.data, rgb.rows, rgb.cols})) {
    found.push_back({cv::Rect(static_cast<int>(std::lround(b.x)), static_cast<int>(std::lround(b.y)),
                              static_cast<int>(std::lround(b.w)), static_cast<int>(std::lround(b.h))),
                     b.score});
  }
  return found;
}

std::vector<Detection> FaceDetector::network(const cv::Mat& bgr) const {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const DetectFn detect = [&](const cv::Mat& image) { return run_net(*net_, image); };
  const std::vector<Detection> main = detect(rgb);
  const DetectorOptions& o = options_;
  if (!o.small_faces && !o.flip_pass && !o.bright_pass && o.rotation_pass == 0) return main;
  std::vector<std::vector<Detection>> passes;
  if (o.small_faces) passes.push_back(tiled_pass(detect, rgb));
  if (o.flip_pass) passes.push_back(flipped_pass(detect, rgb));
  if (o.bright_pass) passes.push_back(brightened_pass(detect, rgb));
  if (o.rotation_pass != 0) {
    passes.push_back(rotated_pass(detect, rgb, o.rotation_pass));
    passes.push_back(rotated_pass(detect, rgb, -o.rotation_pass));
  }
  return merge_detections(main, passes, o.merge);
}

std::vector<Detection> FaceDetector::raw(const cv::Mat& bgr) const {
  if (mode_ == DetectMode::None) return {{cv::Rect(0, 0, bgr.cols, bgr.rows), 1.0f}};
  std::vector<Detection> found = net_ ? network(bgr) : haar(bgr);
  const auto too_small = [&](const Detection& d) {
    return d.box.area() <= 0 || std::max(d.box.width, d.box.height) < options_.min_face;
  };
  found.erase(std::remove_if(found.begin(), found.end(), too_small), found.end());
  // Stable order for reproducible face indices: top to bottom, then left to right.
  std::sort(found.begin(), found.end(), [](const Detection& a, const Detection& b) {
    return a.box.y != b.box.y ? a.box.y < b.box.y : a.box.x < b.box.x;
  });
  return found;
}

std::vector<Detection> FaceDetector::haar(const cv::Mat& bgr) const {
  // Detect on a copy at most 1024 px on its long side: an 8000 px photo would otherwise take minutes.
  const double scale = std::min(1.0, 1024.0 / std::max(bgr.cols, bgr.rows));
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  if (scale < 1.0) cv::resize(gray, gray, cv::Size(), scale, scale, cv::INTER_AREA);
  // No equalizeHist: on composed scenes it cut recall from 96% to 70% (tests/test_integration_predict.cpp).
  std::vector<cv::Rect> found;
  const int min_side = std::max(20, std::min(gray.cols, gray.rows) / 20);
  cascade_.detectMultiScale(gray, found, 1.1, 5, 0, cv::Size(min_side, min_side));
  std::vector<Detection> out;
  for (const auto& r : found) {
    out.push_back({cv::Rect(static_cast<int>(r.x / scale), static_cast<int>(r.y / scale), static_cast<int>(r.width / scale),
                            static_cast<int>(r.height / scale)),
                   1.0f});
  }
  return out;
}

std::vector<FoundFace> FaceDetector::detect(const cv::Mat& bgr) const {
  const cv::Rect whole(0, 0, bgr.cols, bgr.rows);
  std::vector<Detection> raw_faces = raw(bgr);
  DetectMode mode = mode_;  // the detector that framed the boxes (None: the image is the face crop)
  if (auto_ && !scenes_only_) {
    const double aspect = static_cast<double>(bgr.cols) / std::max(1, bgr.rows);
    const bool squarish = aspect > 0.75 && aspect < 1.33;
    const bool fills = raw_faces.size() == 1 && raw_faces[0].box.width * 2 >= bgr.cols;
    if (fills || (raw_faces.empty() && squarish)) {
      raw_faces = {{whole, fills ? raw_faces[0].score : 1.0f}};
      mode = DetectMode::None;
    }
  }
  std::vector<FoundFace> faces;
  for (const Detection& d : raw_faces) {
    FoundFace f;
    f.box = mode == DetectMode::None ? d.box : framed_face_box(d.box, mode);
    f.score = d.score;
    faces.push_back(std::move(f));
  }
  // An image that already is one face crop (auto's shortcut, or --detect none) stays as it is unless
  // alignment was asked for explicitly.
  const bool align = align_ && (mode != DetectMode::None || options_.align == AlignMode::On);
  if (align || options_.landmarks) add_landmarks(bgr, mode, faces);
  for (FoundFace& f : faces) {
    if (align) {
      const int side = static_cast<int>(std::lround(std::clamp(aligned_side_in_image(f.landmarks), double(kMinAlignedSide),
                                                               double(kMaxAlignedSide))));
      f.crop = align_face(bgr, f.landmarks, side);
    } else {
      f.crop = crop_face(bgr, f.box);
    }
  }
  return faces;
}

void FaceDetector::add_landmarks(const cv::Mat& bgr, DetectMode mode, std::vector<FoundFace>& faces) const {
  // The landmark nets were trained on face-api's SSD boxes: cut every face the way SSD would box it.
  const double slack = mode == DetectMode::None ? 1.0 : kFramingSlack;
  std::vector<cv::Mat> rgb(faces.size());
  std::vector<cv::Rect> boxes(faces.size());
  std::vector<RgbView> views;
  for (size_t i = 0; i < faces.size(); ++i) {
    const cv::Rect2d b(faces[i].box);
    const double crop_side = b.width / slack;
    const cv::Rect2d crop(b.x + b.width / 2 - crop_side / 2, b.y + b.height / 2 - crop_side / 2, crop_side, crop_side);
    boxes[i] = to_pixels(kSsdBoxes.box_of(crop));
    cv::cvtColor(crop_face(bgr, boxes[i]), rgb[i], cv::COLOR_BGR2RGB);
    views.push_back({rgb[i].data, rgb[i].rows, rgb[i].cols});
  }
  if (views.empty()) return;
  const auto points = landmark_net_->landmarks(views);
  for (size_t i = 0; i < faces.size(); ++i) {
    faces[i].landmarks.clear();
    for (const FacePoint& p : points[i]) faces[i].landmarks.emplace_back(p[0] + boxes[i].x, p[1] + boxes[i].y);
  }
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
