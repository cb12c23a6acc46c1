#include "vision/face_align.hpp"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "vision/face_detector.hpp"

namespace agegender {

const AlignTemplate& utkface_template() {
  // Means over 368 UTKFace test-split crops (bench_align_template 400: each crop pasted into a frame, SSD's
  // box, the 68-point net; sd 0.009-0.021 of the side): UTKFace's framing is tight, eyes at 29 % of the
  // height, mouth at 70 %.
  static const AlignTemplate t{{0.2894, 0.2887}, {0.6823, 0.2919}, {0.4872, 0.6987}};
  return t;
}

std::vector<cv::Point2d> landmark_anchors(const std::vector<cv::Point2f>& p) {
  if (p.size() != 68) throw std::invalid_argument("landmark_anchors: expected 68 points, got " + std::to_string(p.size()));
  const auto mean = [&](size_t from, size_t to) {
    cv::Point2d m(0, 0);
    for (size_t i = from; i <= to; ++i) m += cv::Point2d(p[i].x, p[i].y);
    return m * (1.0 / static_cast<double>(to - from + 1));
  };
  return {mean(36, 41), mean(42, 47), mean(48, 67)};
}

cv::Mat fit_similarity(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to) {
  if (from.size() != to.size() || from.size() < 2) throw std::invalid_argument("fit_similarity: need >= 2 point pairs");
  cv::Point2d mf(0, 0), mt(0, 0);
  for (size_t i = 0; i < from.size(); ++i) mf += from[i], mt += to[i];
  mf *= 1.0 / static_cast<double>(from.size());
  mt *= 1.0 / static_cast<double>(to.size());
  // x' = a x - b y + tx, y' = b x + a y + ty; closed form on centred points.
  double num_a = 0, num_b = 0, den = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    const cv::Point2d f = from[i] - mf, t = to[i] - mt;
    num_a += f.x * t.x + f.y * t.y;
    num_b += f.x * t.y - f.y * t.x;
    den += f.x * f.x + f.y * f.y;
  }
  if (den <= 0) throw std::invalid_argument("fit_similarity: the source points coincide");
  const double a = num_a / den, b = num_b / den;
  cv::Mat m = (cv::Mat_<double>(2, 3) << a, -b, mt.x - (a * mf.x - b * mf.y), b, a, mt.y - (b * mf.x + a * mf.y));
  return m;
}

cv::Mat alignment_transform(const std::vector<cv::Point2f>& landmarks68, int side) {
  const AlignTemplate& t = utkface_template();
  std::vector<cv::Point2d> to;
  for (const cv::Point2d& p : {t.left_eye, t.right_eye, t.mouth}) to.push_back(p * static_cast<double>(side));
  return fit_similarity(landmark_anchors(landmarks68), to);
}

double aligned_side_in_image(const std::vector<cv::Point2f>& landmarks68) {
  const cv::Mat m = alignment_transform(landmarks68, 1);
  const double scale = std::hypot(m.at<double>(0, 0), m.at<double>(1, 0));  // crop units per image pixel
  return scale > 0 ? 1.0 / scale : 0.0;
}

cv::Mat align_face(const cv::Mat& bgr, const std::vector<cv::Point2f>& landmarks68, int side) {
  cv::Mat m = alignment_transform(landmarks68, side);
  const double in_image = side / std::hypot(m.at<double>(0, 0), m.at<double>(1, 0));  // as aligned_side_in_image
  cv::Mat src = bgr;
  if (in_image > 2.0 * side) {
    // Bilinear warping skips pixels when it shrinks much: area-shrink the face's region to 2x first.
    cv::Mat inv;
    cv::invertAffineTransform(m, inv);
    std::vector<cv::Point2d> corners{{0, 0}, {double(side), 0}, {0, double(side)}, {double(side), double(side)}}, in;
    cv::transform(corners, in, inv);
    const cv::Rect region = cv::boundingRect(std::vector<cv::Point2f>(in.begin(), in.end())) + cv::Size(2, 2);
    const double f = 2.0 * side / in_image;
    cv::resize(crop_face(bgr, region), src, cv::Size(), f, f, cv::INTER_AREA);
    // image point q -> (q - region.tl) * f in `src`; so src point s = q' maps through m at s / f + tl.
    cv::Mat shift = (cv::Mat_<double>(3, 3) << 1 / f, 0, region.x, 0, 1 / f, region.y, 0, 0, 1);
    m = m * shift;
  }
  cv::Mat out;
  cv::warpAffine(src, out, m, cv::Size(side, side), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

}  // namespace agegender
