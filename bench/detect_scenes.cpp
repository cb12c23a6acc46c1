// Face detection on hard composed scenes, Haar vs Tiny vs SSD side by side: UTKFace test-split crops
// (read from the archive at run time, never stored) pasted into 640x480 frames at 32-240 px, rotated up
// to +-20 degrees, brightness 0.4x-1.6x, a quarter occluded now and then, JPEG quality 30-90, plus frames
// with no face (textures, a face-like pattern). Per detector: recall at IoU >= 0.5 (overall and by face
// size), false positives per frame, detection-only frames/s, and end-to-end frames/s (JPEG decode +
// detect + landmarks + alignment). With --model RUN also the end-to-end number a store operator gets:
// age-group and gender accuracy of the model on the detected faces (cut as detected, and aligned) next to
// the same model on the same faces' original crops.
//   bench_detect_scenes ARCHIVE PREPARED_DIR [--frames 120] [--models DIR] [--threads 2] [--min-score 0.5]
//                       [--detectors haar,tiny,ssd,ssd+small] [--model RUN] [--seed 11]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>
#include <sstream>
#include <torch/torch.h>

#include "agegender/binning.hpp"
#include "agegender/preprocess.hpp"
#include "model/checkpoint.hpp"
#include "model/inference.hpp"
#include "test_crops.hpp"
#include "vision/face_detector.hpp"

using namespace agegender;

namespace {

using Crop = bench::TestCrop;

struct Pasted {
  cv::Rect2d at;  // where the crop's square sits (before rotation)
  size_t crop = 0;
};

struct Scene {
  std::vector<uchar> jpeg;
  cv::Mat bgr;
  std::vector<Pasted> faces;
};

double iou(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  return inter <= 0 ? 0 : inter / (a.area() + b.area() - inter);
}

Scene make_scene(const std::vector<Crop>& crops, std::mt19937& rng, size_t& next) {
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  Scene s;
  s.bgr = cv::Mat(480, 640, CV_8UC3);
  cv::randu(s.bgr, cv::Scalar::all(20), cv::Scalar::all(230));
  cv::GaussianBlur(s.bgr, s.bgr, cv::Size(0, 0), uni(2, 8));
  const bool empty = uni(0, 1) < 0.15;
  if (empty && uni(0, 1) < 0.5) {  // a face-like pattern: an oval with two dark eyes and a mouth
    const cv::Point c(static_cast<int>(uni(120, 520)), static_cast<int>(uni(120, 360)));
    const int r = static_cast<int>(uni(30, 90));
    cv::ellipse(s.bgr, c, cv::Size(r, r * 5 / 4), 0, 0, 360, cv::Scalar(150, 170, 200), cv::FILLED);
    cv::circle(s.bgr, c + cv::Point(-r / 3, -r / 4), r / 7, cv::Scalar(30, 30, 30), cv::FILLED);
    cv::circle(s.bgr, c + cv::Point(r / 3, -r / 4), r / 7, cv::Scalar(30, 30, 30), cv::FILLED);
    cv::ellipse(s.bgr, c + cv::Point(0, r / 2), cv::Size(r / 3, r / 8), 0, 0, 360, cv::Scalar(60, 60, 120), cv::FILLED);
  }
  const int faces = empty ? 0 : 1 + static_cast<int>(rng() % 4);
  std::vector<cv::Rect> taken;
  for (int k = 0; k < faces; ++k) {
    const int side = static_cast<int>(std::exp(uni(std::log(32.0), std::log(240.0))));
    cv::Rect at;
    bool ok = false;
    for (int tries = 0; tries < 30 && !ok; ++tries) {
      at = cv::Rect(static_cast<int>(rng() % (640 - side)), static_cast<int>(rng() % (480 - side)), side, side);
      ok = std::none_of(taken.begin(), taken.end(), [&](const cv::Rect& t) { return (t & at).area() > 0; });
    }
    if (!ok) continue;
    taken.push_back(at);
    const size_t index = next++ % crops.size();
    cv::Mat face;
    cv::resize(crops[index].bgr, face, cv::Size(side, side), 0, 0, cv::INTER_AREA);
    const cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(side / 2.0f, side / 2.0f), uni(-20, 20), 1.0);
    cv::warpAffine(face, face, rot, face.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    face.convertTo(face, -1, uni(0.4, 1.6), 0);
    if (uni(0, 1) < 0.3) {  // occlude up to a quarter of the face (a hand, a scarf, a shelf)
      const int w = side / 2, h = side / 2;
      const int x = static_cast<int>(uni(0, side - w)), y = static_cast<int>(uni(side / 3.0, side - h));
      cv::rectangle(face, cv::Rect(x, y, w, h), cv::Scalar::all(uni(30, 220)), cv::FILLED);
    }
    face.copyTo(s.bgr(at));
    s.faces.push_back({cv::Rect2d(at), index});
  }
  cv::imencode(".jpg", s.bgr, s.jpeg, {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(uni(30, 90))});
  s.bgr = cv::imdecode(s.jpeg, cv::IMREAD_COLOR);
  return s;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// How a detector boxes a UTKFace crop (the reference box of a pasted face is its crop mapped through its
// detector's convention), measured on clean pastes (no rotation, dimming, occlusion or JPEG): 48 crops at 48-240 px, one per
// frame; medians over the detections whose centre falls inside the pasted square.
BoxConvention calibrate(const FaceDetector& det, const std::vector<Crop>& crops, std::mt19937& rng) {
  std::vector<double> w, h, dx, dy;
  for (size_t i = 0; i < 48; ++i) {
    const int side = static_cast<int>(std::exp(std::uniform_real_distribution<double>(std::log(48.0), std::log(240.0))(rng)));
    cv::Mat frame(480, 640, CV_8UC3);
    cv::randu(frame, cv::Scalar::all(20), cv::Scalar::all(230));
    cv::GaussianBlur(frame, frame, cv::Size(0, 0), 5);
    const cv::Rect at(static_cast<int>(rng() % (640 - side)), static_cast<int>(rng() % (480 - side)), side, side);
    cv::resize(crops[(i * 131) % crops.size()].bgr, frame(at), at.size(), 0, 0, cv::INTER_AREA);
    for (const auto& d : det.raw(frame)) {
      const cv::Point2d c(d.box.x + d.box.width / 2.0, d.box.y + d.box.height / 2.0);
      if (!cv::Rect2d(at).contains(c)) continue;
      w.push_back(static_cast<double>(d.box.width) / side), h.push_back(static_cast<double>(d.box.height) / side);
      dx.push_back((c.x - at.x) / side - 0.5), dy.push_back((c.y - at.y) / side - 0.5);
      break;
    }
  }
  return {median(w), median(h), median(dx), median(dy)};
}

// Which pasted face (if any) a detector box is: IoU >= 0.5 with the face's reference box.
int match(const Scene& s, const cv::Rect& box, const BoxConvention& conv, std::vector<bool>& used) {
  for (size_t k = 0; k < s.faces.size(); ++k) {
    if (!used[k] && iou(conv.box_of(s.faces[k].at), cv::Rect2d(box)) >= 0.5) {
      used[k] = true;
      return static_cast<int>(k);
    }
  }
  return -1;
}

constexpr int kSizeBins = 4;
const int kSizeEdges[kSizeBins + 1] = {32, 48, 80, 140, 241};
int size_bin(double side) {
  int b = 0;
  while (b + 1 < kSizeBins && side >= kSizeEdges[b + 1]) ++b;
  return b;
}

// The age/gender model over face crops (preprocessing contract + heads), for the end-to-end numbers.
class Classifier {
 public:
  explicit Classifier(const std::string& run) : m_(load_trained_model(run)), decoder_(m_.spec, m_.binning, m_.class_mean_age) {
    m_.model->eval();
  }
  // Age class and gender (1 = female) of one face crop.
  std::pair<int, int> classify(const cv::Mat& crop) {
    const ModelInput& in = m_.input;
    std::vector<uint8_t> source(static_cast<size_t>(in.source_size) * in.source_size * 3);
    center_square_rgb(crop, in.source_size, source.data());
    std::vector<uint8_t> pixels(static_cast<size_t>(in.channels) * in.size * in.size);
    source_to_model(source.data(), in, pixels.data());
    auto x = torch::empty({1, in.channels, in.size, in.size});
    normalize_pixels(pixels.data(), in, x.data_ptr<float>());
    torch::NoGradGuard no_grad;
    const HeadProbs h = infer(*m_.model, decoder_, x, false);
    return {static_cast<int>(h.age_probs.argmax(1).item<int64_t>()), h.female_prob.item<float>() >= 0.5f ? 1 : 0};
  }
  const AgeBinning& binning() const { return m_.binning; }

 private:
  LoadedModel m_;
  HeadDecoder decoder_;
};

struct Accuracy {
  size_t n = 0, age = 0, gender = 0;
  void add(std::pair<int, int> got, int age_class, int gender_truth) {
    ++n;
    age += got.first == age_class;
    gender += got.second == gender_truth;
  }
  std::string str() const {
    char b[96];
    std::snprintf(b, sizeof b, "age group %5.1f %%  gender %5.1f %%", 100.0 * age / std::max<size_t>(n, 1),
                  100.0 * gender / std::max<size_t>(n, 1));
    return b;
  }
};

DetectMode mode_of(const std::string& name) { return parse_detect_mode(name); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s ARCHIVE PREPARED_DIR [--frames 120] [--models DIR] [--threads 2] [--min-score 0.5] "
                 "[--detectors haar,tiny,ssd] [--model RUN] [--seed 11]\n",
                 argv[0]);
    return 2;
  }
  std::map<std::string, std::string> opt{{"--frames", "120"}, {"--models", "models/face-api"}, {"--threads", "2"},
                                         {"--min-score", "0.5"}, {"--detectors", "haar,tiny,ssd"}, {"--model", ""},
                                         {"--seed", "11"}};
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!opt.count(argv[i])) {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
    opt[argv[i]] = argv[i + 1];
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each detector's lines as soon as they are measured
  const int frames = std::stoi(opt["--frames"]);
  torch::set_num_threads(std::stoi(opt["--threads"]));
  const float min_score = std::stof(opt["--min-score"]);
  std::vector<Crop> crops = bench::test_split_crops(argv[1], argv[2]);
  // The archive is sorted by file name, i.e. by age as text (1, 10, 100, 101, ...): shuffle, or the scenes
  // would show a few ages only.
  std::shuffle(crops.begin(), crops.end(), std::mt19937(7));
  std::mt19937 rng(static_cast<unsigned>(std::stoul(opt["--seed"])));
  size_t next = 0, faces = 0, empty = 0;
  size_t per_bin[kSizeBins] = {};
  std::vector<Scene> scenes;
  for (int i = 0; i < frames; ++i) {
    scenes.push_back(make_scene(crops, rng, next));
    faces += scenes.back().faces.size();
    empty += scenes.back().faces.empty();
    for (const auto& p : scenes.back().faces) ++per_bin[size_bin(p.at.width)];
  }
  std::unique_ptr<Classifier> model;
  if (!opt["--model"].empty()) model = std::make_unique<Classifier>(opt["--model"]);
  std::printf("%d frames (640x480), %zu faces 32-240 px, %zu frames without faces; min score %.2f, %d LibTorch threads\n",
              frames, faces, empty, min_score, torch::get_num_threads());
  std::string sizes;
  for (int b = 0; b < kSizeBins; ++b) {
    sizes += "  " + std::to_string(kSizeEdges[b]) + "-" + std::to_string(kSizeEdges[b + 1] - 1) + " px (" +
             std::to_string(per_bin[b]) + ")";
  }
  std::printf("recall by face side:%s\n", sizes.c_str());

  std::stringstream names(opt["--detectors"]);
  for (std::string name; std::getline(names, name, ',');) {
    DetectorOptions o;  // "ssd+small": with the small-face tile pass
    const size_t plus = name.find("+small");
    o.small_faces = plus != std::string::npos;
    o.mode = mode_of(name.substr(0, plus));
    o.models = opt["--models"];
    o.min_score = min_score;
    o.align = AlignMode::Off;
    FaceDetector det(o);
    o.align = AlignMode::On;
    FaceDetector aligning(o);
    std::mt19937 calib_rng(5);
    const BoxConvention conv = calibrate(det, crops, calib_rng);
    const BoxConvention framed{1.1, 1.1, 0, 0};  // FoundFace boxes: the crop grown 1.1x (framed_face_box)
    size_t hits = 0, false_pos = 0, hits_by_bin[kSizeBins] = {};
    double detect_s = 0, e2e_s = 0;
    Accuracy original, as_detected, aligned;
    for (const Scene& s : scenes) {
      auto t0 = std::chrono::steady_clock::now();
      const auto boxes = det.raw(s.bgr);
      detect_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::vector<bool> used(s.faces.size(), false);
      for (const auto& d : boxes) {
        const int k = match(s, d.box, conv, used);
        if (k < 0) {
          ++false_pos;
          continue;
        }
        ++hits;
        ++hits_by_bin[size_bin(s.faces[static_cast<size_t>(k)].at.width)];
      }
      t0 = std::chrono::steady_clock::now();  // what predict does per frame before the age/gender model
      cv::Mat decoded;
      std::string err;
      decode_bgr(std::string(s.jpeg.begin(), s.jpeg.end()), &decoded, &err);
      const auto found = aligning.detect(decoded);
      e2e_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!model) continue;
      const auto plain = det.detect(s.bgr);
      std::vector<bool> used_plain(s.faces.size(), false), used_aligned(s.faces.size(), false);
      std::map<int, const FoundFace*> by_face_plain, by_face_aligned;
      for (const auto& f : plain) {
        const int k = match(s, f.box, framed, used_plain);
        if (k >= 0) by_face_plain[k] = &f;
      }
      for (const auto& f : found) {
        const int k = match(s, f.box, framed, used_aligned);
        if (k >= 0) by_face_aligned[k] = &f;
      }
      for (const auto& [k, f] : by_face_plain) {  // faces found both ways, so the three rows are the same faces
        const auto a = by_face_aligned.find(k);
        if (a == by_face_aligned.end()) continue;
        const Crop& c = crops[s.faces[static_cast<size_t>(k)].crop];
        const int age_class = model->binning().class_of(c.label.age);
        original.add(model->classify(c.bgr), age_class, c.label.gender);
        as_detected.add(model->classify(f->crop), age_class, c.label.gender);
        aligned.add(model->classify(a->second->crop), age_class, c.label.gender);
      }
    }
    std::string by_bin;
    char b[64];
    for (int k = 0; k < kSizeBins; ++k) {
      std::snprintf(b, sizeof b, " %5.1f", 100.0 * hits_by_bin[k] / std::max<size_t>(per_bin[k], 1));
      by_bin += b;
    }
    std::printf("%-5s box convention: w %.3f h %.3f x the crop side, centre %+.3f %+.3f\n", name.c_str(), conv.w, conv.h,
                conv.dx, conv.dy);
    std::printf("%-5s recall@IoU0.5 %5.1f %% (by size:%s)  false positives/frame %.3f  %.1f frames/s detection, "
                "%.1f frames/s decode+detect+landmarks+align\n",
                name.c_str(), 100.0 * hits / std::max<size_t>(faces, 1), by_bin.c_str(), static_cast<double>(false_pos) / frames,
                frames / detect_s, frames / e2e_s);
    if (model) {
      std::printf("      %zu faces found both ways: original crops %s | as detected %s | aligned %s\n", original.n,
                  original.str().c_str(), as_detected.str().c_str(), aligned.str().c_str());
    }
  }
  return 0;
}
