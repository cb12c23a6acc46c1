#include "scene_paint.hpp"

#include <algorithm>
#include <map>
#include <opencv2/imgproc.hpp>

#include "agegender/duplicates.hpp"

namespace agegender::bench {

SplitCrops split_crops(const std::string& archive, const std::vector<Split>& splits) {
  SplitCrops out;
  out.source = read_dataset_source(archive);
  std::vector<const SourceFile*> ok;
  std::vector<FaceLabel> labels;
  std::vector<std::string_view> contents;
  for (const auto& f : out.source.files) {
    const ParsedName p = parse_utkface_name(f.name);
    if (!p.label) continue;
    ok.push_back(&f);
    labels.push_back(*p.label);
    contents.push_back(f.bytes);
  }
  std::vector<std::vector<size_t>> units = find_duplicate_groups(contents);
  std::vector<bool> second(ok.size(), false), grouped(ok.size(), false);
  for (const auto& g : units) {
    for (size_t k = 0; k < g.size(); ++k) {
      grouped[g[k]] = true;
      second[g[k]] = k > 0;
    }
  }
  for (size_t i = 0; i < ok.size(); ++i) {
    if (!grouped[i]) units.push_back({i});
  }
  const std::vector<Split> split = stratified_split(labels, units, SplitFractions{}, 42);
  for (size_t i = 0; i < ok.size(); ++i) {
    if (second[i] || std::find(splits.begin(), splits.end(), split[i]) == splits.end()) continue;
    out.files.push_back(ok[i]);
    out.labels.push_back(labels[i]);
  }
  return out;
}

cv::Mat shop_background(int w, int h, std::mt19937& rng) {
  std::uniform_int_distribution<int> u(0, 255);
  cv::Mat bg(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) bg.row(y).setTo(cv::Scalar(90 + 60.0 * y / h, 100 + 40.0 * y / h, 110));
  for (int k = 0; k < 14; ++k) {  // shelves, posters, doors
    const cv::Rect r(u(rng) * w / 256, u(rng) * h / 256, 40 + u(rng) * w / 600, 30 + u(rng) * h / 500);
    cv::rectangle(bg, r, cv::Scalar(u(rng), u(rng), u(rng)), cv::FILLED);
  }
  cv::Mat noise(h, w, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(40));
  bg += noise;
  cv::GaussianBlur(bg, bg, cv::Size(0, 0), 3);
  return bg;
}

namespace {

// An oval, soft-edged mask: the crop's own background fades into the scene, so detectors see a head
// rather than a pasted square (whose edges would also be found as a face's box).
const cv::Mat& feather(int side) {
  static thread_local std::map<int, cv::Mat> masks;
  cv::Mat& m = masks[side];
  if (m.empty()) {
    m = cv::Mat::zeros(side, side, CV_32FC3);
    cv::ellipse(m, cv::Point(side / 2, side / 2), cv::Size(side * 9 / 20, side / 2), 0, 0, 360, cv::Scalar::all(1.0), cv::FILLED);
    cv::GaussianBlur(m, m, cv::Size(0, 0), std::max(1.0, side / 16.0));
  }
  return m;
}

void blend(const cv::Mat& face, const cv::Mat& alpha, cv::Mat dst) {
  cv::Mat f, d;
  face.convertTo(f, CV_32FC3);
  dst.convertTo(d, CV_32FC3);
  const cv::Mat rest = cv::Scalar::all(1.0) - alpha;
  d = f.mul(alpha) + d.mul(rest);
  d.convertTo(dst, CV_8UC3);
}

}  // namespace

void paste_face(cv::Mat& frame, const cv::Mat& crop, double x, double y, int side, double gain, bool occluded) {
  cv::Mat face;
  cv::resize(crop, face, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  face.convertTo(face, -1, gain, 0);
  if (occluded) cv::rectangle(face, cv::Rect(0, side * 3 / 5, side, side - side * 3 / 5), cv::Scalar(70, 80, 90), cv::FILLED);
  const cv::Rect at(static_cast<int>(x) - side / 2, static_cast<int>(y) - side / 2, side, side);
  const cv::Rect vis = at & cv::Rect(0, 0, frame.cols, frame.rows);
  if (vis.area() > 0) blend(face(vis - at.tl()), feather(side)(vis - at.tl()), frame(vis));
}

}  // namespace agegender::bench
