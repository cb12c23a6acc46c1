#include "hard_scenes.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace agegender::bench {

namespace {

// The training occluder: a shape of a quarter of the face's area or less, anywhere on it.
void varied_occluder(cv::Mat& face, std::mt19937& rng) {
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  const int side = face.cols;
  const double area = uni(0.08, 0.25) * side * side, aspect = std::exp(uni(std::log(0.4), std::log(2.5)));
  const int w = std::clamp(static_cast<int>(std::sqrt(area * aspect)), 2, side), h = std::clamp(static_cast<int>(area / w), 2, side);
  const cv::Rect r(static_cast<int>(uni(0, side - w)), static_cast<int>(uni(0, side - h)), w, h);
  const cv::Scalar colour(uni(0, 255), uni(0, 255), uni(0, 255));
  switch (rng() % 3) {
    case 0: cv::rectangle(face, r, colour, cv::FILLED); break;
    case 1: cv::ellipse(face, (r.tl() + r.br()) / 2, r.size() / 2, uni(0, 180), 0, 360, colour, cv::FILLED); break;
    default: {
      cv::Mat patch(r.size(), CV_8UC3);
      cv::randu(patch, cv::Scalar::all(0), cv::Scalar::all(255));
      cv::GaussianBlur(patch, patch, cv::Size(0, 0), uni(0.5, 4));
      patch.copyTo(face(r));
    }
  }
}

// Flat shapes on the background (SceneStyle::clutter).
void background_clutter(cv::Mat& bgr, std::mt19937& rng) {
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  const int shapes = static_cast<int>(rng() % 25);
  for (int k = 0; k < shapes; ++k) {
    const cv::Scalar colour(uni(0, 255), uni(0, 255), uni(0, 255));
    const cv::Point a(static_cast<int>(uni(0, bgr.cols)), static_cast<int>(uni(0, bgr.rows)));
    const cv::Size size(static_cast<int>(uni(10, bgr.cols / 3.0)), static_cast<int>(uni(10, bgr.rows / 3.0)));
    switch (rng() % 3) {
      case 0: cv::rectangle(bgr, cv::Rect(a, size), colour, cv::FILLED); break;
      case 1: cv::ellipse(bgr, a, size / 2, uni(0, 180), 0, 360, colour, cv::FILLED); break;
      default: cv::line(bgr, a, a + cv::Point(size.width, size.height), colour, static_cast<int>(uni(2, 12)));
    }
  }
  cv::GaussianBlur(bgr, bgr, cv::Size(0, 0), uni(0.5, 3));
}

}  // namespace

Scene make_scene(const std::vector<TestCrop>& crops, std::mt19937& rng, size_t& next, const SceneStyle& style) {
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  const int W = style.width, H = style.height;
  Scene s;
  s.bgr = cv::Mat(H, W, CV_8UC3);
  cv::randu(s.bgr, cv::Scalar::all(20), cv::Scalar::all(230));
  cv::GaussianBlur(s.bgr, s.bgr, cv::Size(0, 0), uni(2, 8));
  if (style.clutter) background_clutter(s.bgr, rng);
  const bool empty = uni(0, 1) < 0.15;
  if (empty && uni(0, 1) < 0.5) {  // a face-like pattern: an oval with two dark eyes and a mouth
    const cv::Point c(static_cast<int>(uni(120, W - 120)), static_cast<int>(uni(120, H - 120)));
    const int r = static_cast<int>(uni(30, 90));
    cv::ellipse(s.bgr, c, cv::Size(r, r * 5 / 4), 0, 0, 360, cv::Scalar(150, 170, 200), cv::FILLED);
    cv::circle(s.bgr, c + cv::Point(-r / 3, -r / 4), r / 7, cv::Scalar(30, 30, 30), cv::FILLED);
    cv::circle(s.bgr, c + cv::Point(r / 3, -r / 4), r / 7, cv::Scalar(30, 30, 30), cv::FILLED);
    cv::ellipse(s.bgr, c + cv::Point(0, r / 2), cv::Size(r / 3, r / 8), 0, 0, 360, cv::Scalar(60, 60, 120), cv::FILLED);
  }
  const int faces = empty ? 0 : 1 + static_cast<int>(rng() % static_cast<unsigned>(style.max_faces));
  std::vector<cv::Rect> taken;
  for (int k = 0; k < faces; ++k) {
    const int side = static_cast<int>(std::exp(uni(std::log(static_cast<double>(style.min_side)), std::log(static_cast<double>(style.max_side)))));
    cv::Rect at;
    bool ok = false;
    for (int tries = 0; tries < 30 && !ok; ++tries) {
      at = cv::Rect(static_cast<int>(rng() % static_cast<unsigned>(W - side)), static_cast<int>(rng() % static_cast<unsigned>(H - side)), side, side);
      ok = std::none_of(taken.begin(), taken.end(), [&](const cv::Rect& t) { return (t & at).area() > 0; });
    }
    if (!ok) continue;
    taken.push_back(at);
    const size_t index = next++ % crops.size();
    cv::Mat face;
    cv::resize(crops[index].bgr, face, cv::Size(side, side), 0, 0, cv::INTER_AREA);
    Pasted p{cv::Rect2d(at), index, uni(-20, 20), 0, false};
    const cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(side / 2.0f, side / 2.0f), p.angle, 1.0);
    cv::warpAffine(face, face, rot, face.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    p.gain = uni(0.4, 1.6);
    face.convertTo(face, -1, p.gain, 0);
    p.occluded = uni(0, 1) < 0.3;
    if (p.occluded && style.varied_occluders) {
      varied_occluder(face, rng);
    } else if (p.occluded) {  // occlude up to a quarter of the face (a hand, a scarf, a shelf)
      const int w = side / 2, h = side / 2;
      const int x = static_cast<int>(uni(0, side - w)), y = static_cast<int>(uni(side / 3.0, side - h));
      cv::rectangle(face, cv::Rect(x, y, w, h), cv::Scalar::all(uni(30, 220)), cv::FILLED);
    }
    face.copyTo(s.bgr(at));
    s.faces.push_back(p);
  }
  cv::imencode(".jpg", s.bgr, s.jpeg, {cv::IMWRITE_JPEG_QUALITY, static_cast<int>(uni(30, 90))});
  s.bgr = cv::imdecode(s.jpeg, cv::IMREAD_COLOR);
  return s;
}

}  // namespace agegender::bench
