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

std::vector<Detection> merge_detections(const std::vector<Detection>& primary, std::vector<Detection> extra, int min_votes,
                                        float sure_score) {
  std::vector<Detection> kept = primary;
  std::vector<int> votes(kept.size(), 1);
  std::stable_sort(extra.begin(), extra.end(), [](const Detection& a, const Detection& b) { return a.score > b.score; });
  for (const Detection& d : extra) {
    const auto same = std::find_if(kept.begin(), kept.end(), [&](const Detection& k) { return iou(k.box, d.box) > 0.3; });
    if (same == kept.end()) {
      kept.push_back(d);
      votes.push_back(1);
      continue;
    }
    ++votes[static_cast<size_t>(same - kept.begin())];
    same->score = std::max(same->score, d.score);
  }
  std::vector<Detection> out;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (votes[i] >= min_votes || kept[i].score >= sure_score) out.push_back(kept[i]);
  }
  return out;
}

}  // namespace agegender
