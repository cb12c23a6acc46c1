// Face detection on hard composed scenes, Haar vs Tiny vs SSD side by side: UTKFace test-split crops
// (read from the archive at run time, never stored) pasted into 640x480 frames at 32-240 px, rotated up
// to +-20 degrees, brightness 0.4x-1.6x, a quarter occluded now and then, JPEG quality 30-90, plus frames
// with no face (textures, a face-like pattern). Per detector: recall at IoU >= 0.5 (overall and by face
// size), false positives per frame, detection-only frames/s, and end-to-end frames/s (JPEG decode +
// detect + landmarks + alignment). With --model RUN also the end-to-end number a store operator gets:
// age-group and gender accuracy of the model on the detected faces (cut as detected, and aligned) next to
// the same model on the same faces' original crops.
//   bench_detect_scenes ARCHIVE PREPARED_DIR [--frames 120] [--models DIR] [--threads 2] [--min-score 0.5]
//                       [--detectors haar,tiny,ssd,ssd@800+flip+rotate+votes=0.2] [--model RUN] [--seed 11]
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
#include "agegender/error.hpp"
#include "agegender/preprocess.hpp"
#include "model/checkpoint.hpp"
#include "model/inference.hpp"
#include "hard_scenes.hpp"
#include "vision/face_detector.hpp"

using namespace agegender;

namespace {

using Crop = bench::TestCrop;
using bench::Pasted;
using bench::Scene;
using bench::make_scene;

// The conditions a pasted face was made under, for recall per condition (what the misses have in common).
constexpr int kConditions = 5;
const char* const kConditionNames[kConditions] = {"dim<0.7", "bright>1.3", "|rot|>=10", "occluded", "clean"};
std::vector<int> conditions_of(const Pasted& p) {
  std::vector<int> c;
  if (p.gain < 0.7) c.push_back(0);
  if (p.gain > 1.3) c.push_back(1);
  if (std::abs(p.angle) >= 10) c.push_back(2);
  if (p.occluded) c.push_back(3);
  if (c.empty()) c.push_back(4);
  return c;
}

double iou(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  return inter <= 0 ? 0 : inter / (a.area() + b.area() - inter);
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

// A detector variant by name: MODE[@SIDE][+PASS...][+votes][=SCORE], PASS one of --detect-passes' items
// (flip, rotate[:DEG], bright, tiles), e.g. "ssd@800+flip+rotate+votes=0.2": SSD fitted to an 800 px long side, a
// mirrored and two rotated passes, faces from 0.2 up to --min-score kept when two passes find them.
DetectorOptions detector_variant(const std::string& name, float min_score) {
  DetectorOptions o;
  std::string rest = name;
  float score = min_score;
  if (const size_t eq = rest.find('='); eq != std::string::npos) {
    score = std::stof(rest.substr(eq + 1));
    rest.resize(eq);
  }
  std::stringstream parts(rest);
  std::string part, passes;
  std::getline(parts, part, '+');
  if (const size_t at = part.find('@'); at != std::string::npos) {
    o.fit_side = std::stoi(part.substr(at + 1));
    part.resize(at);
  }
  o.mode = parse_detect_mode(part);
  bool votes = false;
  while (std::getline(parts, part, '+')) {
    if (part == "votes") votes = true;
    else passes += (passes.empty() ? "" : ",") + part;
  }
  parse_detect_passes(passes, o);
  o.min_score = score;
  if (votes) {  // as --vote-score: the variant's score is the vote score, --min-score the sure one
    o.merge.sure_score = min_score;
    o.merge.min_votes = 2;
  }
  return o;
}

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
  size_t per_bin[kSizeBins] = {}, per_condition[kConditions] = {};
  std::vector<Scene> scenes;
  for (int i = 0; i < frames; ++i) {
    scenes.push_back(make_scene(crops, rng, next));
    faces += scenes.back().faces.size();
    empty += scenes.back().faces.empty();
    for (const auto& p : scenes.back().faces) {
      ++per_bin[size_bin(p.at.width)];
      for (const int c : conditions_of(p)) ++per_condition[c];
    }
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
    DetectorOptions o = detector_variant(name, min_score);
    o.models = opt["--models"];
    o.align = AlignMode::Off;
    FaceDetector det(o);
    o.align = AlignMode::On;
    FaceDetector aligning(o);
    std::mt19937 calib_rng(5);
    const BoxConvention conv = calibrate(det, crops, calib_rng);
    const BoxConvention framed{1.1, 1.1, 0, 0};  // FoundFace boxes: the crop grown 1.1x (framed_face_box)
    size_t hits = 0, false_pos = 0, hits_by_bin[kSizeBins] = {}, hits_by_condition[kConditions] = {};
    size_t misses_by_iou[3] = {}, false_pos_empty = 0;  // best IoU of any box with the missed face: 0, (0, 0.3), [0.3, 0.5)
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
          false_pos_empty += s.faces.empty();
          continue;
        }
        ++hits;
        ++hits_by_bin[size_bin(s.faces[static_cast<size_t>(k)].at.width)];
        for (const int c : conditions_of(s.faces[static_cast<size_t>(k)])) ++hits_by_condition[c];
      }
      for (size_t k = 0; k < s.faces.size(); ++k) {  // a miss: boxed badly (which IoU) or not at all
        if (used[k]) continue;
        double best = 0;
        for (const auto& d : boxes) best = std::max(best, iou(conv.box_of(s.faces[k].at), cv::Rect2d(d.box)));
        ++misses_by_iou[best >= 0.3 ? 2 : best > 0 ? 1 : 0];
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
    std::string by_condition;
    for (int c = 0; c < kConditions; ++c) {
      std::snprintf(b, sizeof b, "  %s %5.1f (%zu)", kConditionNames[c], 100.0 * hits_by_condition[c] / std::max<size_t>(per_condition[c], 1),
                    per_condition[c]);
      by_condition += b;
    }
    std::printf("%-5s box convention: w %.3f h %.3f x the crop side, centre %+.3f %+.3f\n", name.c_str(), conv.w, conv.h,
                conv.dx, conv.dy);
    std::printf("%-5s recall@IoU0.5 %5.1f %% (by size:%s)  false positives/frame %.3f  %.1f frames/s detection, "
                "%.1f frames/s decode+detect+landmarks+align\n",
                name.c_str(), 100.0 * hits / std::max<size_t>(faces, 1), by_bin.c_str(), static_cast<double>(false_pos) / frames,
                frames / detect_s, frames / e2e_s);
    std::printf("      recall by condition:%s\n", by_condition.c_str());
    std::printf("      misses: %zu without any box, %zu boxed at IoU < 0.3, %zu boxed at IoU 0.3-0.5; false positives: %zu in "
                "frames without a face, %zu beside faces\n", misses_by_iou[0], misses_by_iou[1], misses_by_iou[2], false_pos_empty,
                false_pos - false_pos_empty);
    if (model) {
      std::printf("      %zu faces found both ways: original crops %s | as detected %s | aligned %s\n", original.n,
                  original.str().c_str(), as_detected.str().c_str(), aligned.str().c_str());
    }
  }
  return 0;
}
