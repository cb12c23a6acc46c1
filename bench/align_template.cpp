// Measures UTKFace's framing: where the eye centres and the mouth centre sit in its aligned crops (the
// alignment template, face_align.cpp), and how face-api's SSD boxes a UTKFace crop (side ratio, centre
// offset). Each test-split crop is pasted at its own size into a 400x400 textured frame, SSD finds it, the
// 68-point net marks it, and the anchors are averaged in crop coordinates.
//   bench_align_template ARCHIVE PREPARED_DIR [MODELS=models/face-api] [N=all]
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "agegender/face_networks.hpp"
#include "test_crops.hpp"
#include "vision/face_align.hpp"

using namespace agegender;

namespace {

struct Stat {
  double sum = 0, sq = 0;
  size_t n = 0;
  void add(double v) { sum += v, sq += v * v, ++n; }
  double mean() const { return sum / std::max<size_t>(n, 1); }
  double sd() const { return std::sqrt(std::max(0.0, sq / std::max<size_t>(n, 1) - mean() * mean())); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ARCHIVE PREPARED_DIR [MODELS] [N]\n", argv[0]);
    return 2;
  }
  const std::string models = argc > 3 ? argv[3] : "models/face-api";
  const size_t limit = argc > 4 ? std::stoul(argv[4]) : SIZE_MAX;
  torch::set_num_threads(2);
  FaceDetectorNet ssd(FaceDetectorNet::Kind::Ssd, models);
  LandmarkNet marks(false, models);
  Stat anchor[3][2], side_ratio, centre_dx, centre_dy;
  size_t crops = 0, missed = 0;
  cv::Mat frame(400, 400, CV_8UC3);
  for (const auto& c : bench::test_split_crops(argv[1], argv[2], limit)) {
    const cv::Mat& bgr = c.bgr;
    if (bgr.cols > 300 || bgr.rows != bgr.cols) continue;
    ++crops;
    cv::randu(frame, cv::Scalar::all(30), cv::Scalar::all(200));
    cv::GaussianBlur(frame, frame, cv::Size(0, 0), 6);
    const int at = (400 - bgr.cols) / 2, side = bgr.cols;
    bgr.copyTo(frame(cv::Rect(at, at, side, side)));
    cv::Mat rgb;
    cv::cvtColor(frame, rgb, cv::COLOR_BGR2RGB);
    const auto boxes = ssd.detect({rgb.data, rgb.rows, rgb.cols});
    if (boxes.empty()) {
      ++missed;
      continue;
    }
    const FaceBox& b = boxes.front();
    side_ratio.add(std::max(b.w, b.h) / side);
    centre_dx.add((b.x + b.w / 2 - at) / side - 0.5);
    centre_dy.add((b.y + b.h / 2 - at) / side - 0.5);
    const cv::Rect box(static_cast<int>(std::lround(b.x)), static_cast<int>(std::lround(b.y)),
                       static_cast<int>(std::lround(b.w)), static_cast<int>(std::lround(b.h)));
    const cv::Mat face = rgb(box & cv::Rect(0, 0, rgb.cols, rgb.rows)).clone();
    std::vector<cv::Point2f> pts;
    for (const FacePoint& p : marks.landmarks(RgbView{face.data, face.rows, face.cols})) {
      pts.emplace_back(p[0] + box.x - at, p[1] + box.y - at);
    }
    const auto a = landmark_anchors(pts);
    for (int k = 0; k < 3; ++k) anchor[k][0].add(a[k].x / side), anchor[k][1].add(a[k].y / side);
  }
  std::printf("%zu test crops, SSD found %zu (min score 0.5)\n", crops, crops - missed);
  std::printf("SSD box side / crop side %.4f (sd %.4f); box centre - crop centre: dx %+.4f dy %+.4f of the side (sd %.4f %.4f)\n",
              side_ratio.mean(), side_ratio.sd(), centre_dx.mean(), centre_dy.mean(), centre_dx.sd(), centre_dy.sd());
  const char* names[] = {"left eye", "right eye", "mouth"};
  for (int k = 0; k < 3; ++k) {
    std::printf("%-9s x %.4f (sd %.4f)  y %.4f (sd %.4f)\n", names[k], anchor[k][0].mean(), anchor[k][0].sd(),
                anchor[k][1].mean(), anchor[k][1].sd());
  }
  return 0;
}
