// Face detection on hard composed scenes, Haar vs Tiny vs SSD side by side: UTKFace test-split crops
// (read from the archive at run time, never stored) pasted into 640x480 frames at 32-240 px, rotated up
// to +-20 degrees, brightness 0.4x-1.6x, a quarter occluded now and then, JPEG quality 30-90, plus frames
// with no face (textures, a face-like pattern). Recall at IoU >= 0.5, false positives per frame, frames/s.
//   bench_detect_scenes ARCHIVE PREPARED_DIR [FRAMES=120] [MODELS=models/face-api] [threads=2] [min_score=0.5]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <set>
#include <torch/torch.h>

#include "agegender/dataset_source.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/prepared_dataset.hpp"
#include "vision/face_detector.hpp"

using namespace agegender;

namespace {

struct Scene {
  cv::Mat bgr;
  std::vector<cv::Rect2d> crops;  // where each pasted crop's square sits (before rotation)
};

double iou(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  return inter <= 0 ? 0 : inter / (a.area() + b.area() - inter);
}

Scene make_scene(const std::vector<cv::Mat>& crops, std::mt19937& rng, size_t& next) {
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
    cv::Mat face;
    cv::resize(crops[next++ % crops.size()], face, cv::Size(side, side), 0, 0, cv::INTER_AREA);
    const cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(side / 2.0f, side / 2.0f), uni(-20, 20), 1.0);
    cv::warpAffine(face, face, rot, face.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    face.convertTo(face, -1, uni(0.4, 1.6), 0);
    if (uni(0, 1) < 0.3) {  // occlude up to a quarter of the face (a hand, a scarf, a shelf)
      const int w = side / 2, h = side / 2;
      const int x = static_cast<int>(uni(0, side - w)), y = static_cast<int>(uni(side / 3.0, side - h));
      cv::rectangle(face, cv::Rect(x, y, w, h), cv::Scalar::all(uni(30, 220)), cv::FILLED);
    }
    face.copyTo(s.bgr(at));
    s.crops.emplace_back(at);
  }
  std::vector<uchar> jpg;
  cv::imencode(".jpg", s.bgr, jpg, {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(uni(30, 90))});
  s.bgr = cv::imdecode(jpg, cv::IMREAD_COLOR);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ARCHIVE PREPARED_DIR [FRAMES=120] [MODELS] [threads=2] [min_score=0.5]\n", argv[0]);
    return 2;
  }
  const int frames = argc > 3 ? std::atoi(argv[3]) : 120;
  const std::string models = argc > 4 ? argv[4] : "models/face-api";
  torch::set_num_threads(argc > 5 ? std::atoi(argv[5]) : 2);
  const float min_score = argc > 6 ? std::stof(argv[6]) : 0.5f;
  const PreparedDataset ds = PreparedDataset::open(argv[2]);
  std::set<std::string> test;
  for (size_t i : ds.indices(Split::Test)) test.insert(ds.rows[i].file);
  std::vector<cv::Mat> crops;
  for (const auto& f : read_dataset_source(argv[1]).files) {
    cv::Mat bgr;
    std::string err;
    if (test.count(f.name) && decode_bgr(f.bytes, &bgr, &err)) crops.push_back(bgr);
  }
  std::mt19937 rng(11);
  size_t next = 0;
  std::vector<Scene> scenes;
  size_t faces = 0, empty = 0;
  for (int i = 0; i < frames; ++i) {
    scenes.push_back(make_scene(crops, rng, next));
    faces += scenes.back().crops.size();
    empty += scenes.back().crops.empty();
  }
  // Each detector boxes a face its own way; the reference box is the pasted crop scaled by the
  // detector's measured box/crop side ratio (tests/test_integration_predict.cpp), same centre.
  const struct {
    const char* name;
    DetectMode mode;
    double box_per_crop;
  } detectors[] = {{"haar", DetectMode::Haar, 1.02}, {"tiny", DetectMode::Tiny, 1.12}, {"ssd", DetectMode::Ssd, 0.83}};
  std::printf("%d frames (640x480), %zu faces 32-240 px, %zu frames without faces; min score %.2f, %d LibTorch threads\n",
              frames, faces, empty, min_score, torch::get_num_threads());
  for (const auto& d : detectors) {
    DetectorOptions o;
    o.mode = d.mode;
    o.models = models;
    o.min_score = min_score;
    FaceDetector det(o);
    size_t hits = 0, false_pos = 0;
    double seconds = 0;
    for (const Scene& s : scenes) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto boxes = det.raw(s.bgr);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::vector<bool> used(s.crops.size(), false);
      for (const auto& b : boxes) {
        bool matched = false;
        for (size_t k = 0; k < s.crops.size() && !matched; ++k) {
          const cv::Rect2d& c = s.crops[k];
          const double side = c.width * d.box_per_crop;
          const cv::Rect2d ref(c.x + c.width / 2 - side / 2, c.y + c.height / 2 - side / 2, side, side);
          if (!used[k] && iou(ref, cv::Rect2d(b)) >= 0.5) matched = used[k] = true;
        }
        if (matched) {
          ++hits;
        } else {
          ++false_pos;
        }
      }
    }
    std::printf("%-5s recall@IoU0.5 %5.1f %%  false positives/frame %.3f  %.1f frames/s (detection only)\n", d.name,
                100.0 * hits / std::max<size_t>(faces, 1), static_cast<double>(false_pos) / frames, frames / seconds);
  }
  return 0;
}
