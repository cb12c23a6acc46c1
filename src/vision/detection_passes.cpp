#include "vision/detection_passes.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "vision/face_detector.hpp"

namespace agegender {

std::vector<Detection> flipped_pass(const DetectFn& detect, const cv::Mat& rgb) {
  cv::Mat mirrored;
  cv::flip(rgb, mirrored, 1);
  std::vector<Detection> found = detect(mirrored);
  for (Detection& d : found) d.box.x = rgb.cols - d.box.x - d.box.width;
  return found;
}

std::vector<Detection> rotated_pass(const DetectFn& detect, const cv::Mat& rgb, double degrees) {
  const cv::Point2f centre(rgb.cols / 2.0f, rgb.rows / 2.0f);
  const cv::Mat forward = cv::getRotationMatrix2D(centre, degrees, 1.0);
  cv::Mat rotated, back;
  cv::warpAffine(rgb, rotated, forward, rgb.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::invertAffineTransform(forward, back);
  std::vector<Detection> found = detect(rotated);
  for (Detection& d : found) {
    const double cx = d.box.x + d.box.width / 2.0, cy = d.box.y + d.box.height / 2.0;
    const double x = back.at<double>(0, 0) * cx + back.at<double>(0, 1) * cy + back.at<double>(0, 2);
    const double y = back.at<double>(1, 0) * cx + back.at<double>(1, 1) * cy + back.at<double>(1, 2);
    d.box.x = static_cast<int>(std::lround(x - d.box.width / 2.0));
    d.box.y = static_cast<int>(std::lround(y - d.box.height / 2.0));
  }
  return found;
}

std::vector<Detection> brightened_pass(const DetectFn& detect, const cv::Mat& rgb) {
  static const cv::Mat lut = [] {  // gamma 0.5, built once
    cv::Mat t(1, 256, CV_8U);
    for (int v = 0; v < 256; ++v) t.at<uchar>(v) = cv::saturate_cast<uchar>(255.0 * std::sqrt(v / 255.0));
    return t;
  }();
  cv::Mat lifted;
  cv::LUT(rgb, lut, lifted);
  return detect(lifted);
}

namespace {

double iou(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  return inter <= 0 ? 0 : inter / (a.area() + b.area() - inter);
}

}  // namespace

std::vector<Detection> tiled_pass(const DetectFn& detect, const cv::Mat& rgb) {
  // The networks see the frame shrunk to their input (SSD 512, Tiny 416), where a face under ~60 px
  // falls below their smallest anchors; a tile of 40 % of the long side is seen 2.5x larger.
  const int tile = std::max(64, static_cast<int>(std::lround(std::max(rgb.cols, rgb.rows) * 0.4)));
  const int step = tile * 4 / 5, small = tile / 3;
  const auto starts = [&](int extent) {
    std::vector<int> s;
    for (int p = 0;; p += step) {
      s.push_back(std::max(0, std::min(p, extent - tile)));
      if (p + tile >= extent) break;
    }
    return s;
  };
  std::vector<Detection> found;
  for (const int y : starts(rgb.rows)) {
    for (const int x : starts(rgb.cols)) {
      const cv::Rect roi = cv::Rect(x, y, tile, tile) & cv::Rect(0, 0, rgb.cols, rgb.rows);
      for (Detection d : detect(rgb(roi).clone())) {
        if (std::max(d.box.width, d.box.height) > small) continue;
        d.box += roi.tl();
        found.push_back(d);
      }
    }
  }
  return found;
}

std::vector<Detection> merge_detections(const std::vector<Detection>& primary, const std::vector<std::vector<Detection>>& extra,
                                        const MergeRule& rule) {
  const size_t passes = extra.size() + 1;
  struct Face {
    Detection d;
    std::vector<float> best;  // each pass's best score for this face (0: not found by it); votes are passes, not boxes
  };
  std::vector<Face> kept;
  for (const Detection& d : primary) {
    kept.push_back({d, std::vector<float>(passes, 0.0f)});
    kept.back().best[0] = d.score;
  }
  std::vector<std::pair<Detection, size_t>> boxes;  // (box, pass), best scores first
  for (size_t p = 0; p < extra.size(); ++p) {
    for (const Detection& d : extra[p]) boxes.emplace_back(d, p + 1);
  }
  std::stable_sort(boxes.begin(), boxes.end(), [](const auto& a, const auto& b) { return a.first.score > b.first.score; });
  for (const auto& [d, pass] : boxes) {
    auto same = std::find_if(kept.begin(), kept.end(), [&](const Face& k) { return iou(k.d.box, d.box) > 0.3; });
    if (same == kept.end()) {
      kept.push_back({d, std::vector<float>(passes, 0.0f)});
      same = kept.end() - 1;
    }
    same->d.score = std::max(same->d.score, d.score);
    same->best[pass] = std::max(same->best[pass], d.score);
  }
  std::vector<Detection> out;
  for (const Face& f : kept) {
    const int votes = static_cast<int>(std::count_if(f.best.begin(), f.best.end(), [](float s) { return s > 0; }));
    if (f.d.score >= rule.sure_score || votes >= rule.min_votes) out.push_back(f.d);
  }
  return out;
}

}  // namespace agegender
