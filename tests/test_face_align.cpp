// Alignment to UTKFace's framing: the similarity fit, the landmark anchors, and the warp (including the
// area pre-shrink for large faces), on images and landmarks the test makes.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "vision/face_align.hpp"

using namespace agegender;

namespace {

cv::Point2d apply(const cv::Mat& m, const cv::Point2d& p) {
  return {m.at<double>(0, 0) * p.x + m.at<double>(0, 1) * p.y + m.at<double>(0, 2),
          m.at<double>(1, 0) * p.x + m.at<double>(1, 1) * p.y + m.at<double>(1, 2)};
}

// 68 points whose anchors (eye and mouth means) are the template's, in a `side` px crop, moved by `m`.
std::vector<cv::Point2f> template_landmarks(int side, const cv::Mat& m) {
  const AlignTemplate& t = utkface_template();
  std::vector<cv::Point2f> pts(68, cv::Point2f(side * 0.5f, side * 0.9f));  // jaw etc.: unused by alignment
  const auto put = [&](size_t from, size_t to, const cv::Point2d& at) {
    for (size_t i = from; i <= to; ++i) {
      const double dx = (static_cast<double>(i - from) - (to - from) / 2.0) * 2.0;  // spread, same mean
      const cv::Point2d p = apply(m, at * side + cv::Point2d(dx, 0));
      pts[i] = cv::Point2f(static_cast<float>(p.x), static_cast<float>(p.y));
    }
  };
  put(36, 41, t.left_eye);
  put(42, 47, t.right_eye);
  put(48, 67, t.mouth);
  return pts;
}

// A face-sized test card: smooth gradients plus a few shapes, so misalignment shows in the pixels.
cv::Mat test_card(int side) {
  cv::Mat card(side, side, CV_8UC3);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) card.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 255 / side), uchar(y * 255 / side), 128);
  }
  cv::circle(card, {side * 35 / 100, side * 43 / 100}, side / 12, cv::Scalar(20, 20, 20), cv::FILLED);
  cv::circle(card, {side * 65 / 100, side * 43 / 100}, side / 12, cv::Scalar(20, 20, 20), cv::FILLED);
  cv::ellipse(card, {side / 2, side * 73 / 100}, {side / 6, side / 20}, 0, 0, 360, cv::Scalar(40, 40, 200), cv::FILLED);
  return card;
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b, int margin) {
  const cv::Rect inner(margin, margin, a.cols - 2 * margin, a.rows - 2 * margin);
  cv::Mat d;
  cv::absdiff(a(inner), b(inner), d);
  const cv::Scalar m = cv::mean(d);
  return (m[0] + m[1] + m[2]) / 3;
}

}  // namespace

TEST(FaceAlign, FitSimilarityRecoversRotationScaleAndShift) {
  cv::Mat truth = cv::getRotationMatrix2D({40, 60}, 17.0, 1.7);
  truth.at<double>(0, 2) += 12;
  truth.at<double>(1, 2) -= 30;
  const std::vector<cv::Point2d> from{{10, 20}, {80, 25}, {45, 90}, {30, 55}};
  std::vector<cv::Point2d> to;
  for (const auto& p : from) to.push_back(apply(truth, p));
  const cv::Mat fit = fit_similarity(from, to);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(fit.at<double>(r, c), truth.at<double>(r, c), 1e-9) << r << "," << c;
  }
  // Noisy points: least squares, so the residual is smaller than the noise added.
  std::vector<cv::Point2d> noisy = to;
  noisy[0].x += 1.0, noisy[2].y -= 1.0;
  const cv::Mat rough = fit_similarity(from, noisy);
  for (const auto& p : from) EXPECT_LT(cv::norm(apply(rough, p) - apply(truth, p)), 1.0);
  EXPECT_THROW(fit_similarity({{1, 1}, {1, 1}}, {{0, 0}, {5, 5}}), std::invalid_argument);
  EXPECT_THROW(fit_similarity({{1, 1}}, {{0, 0}}), std::invalid_argument);
}

TEST(FaceAlign, AnchorsAreTheMeansOfEyesAndMouth) {
  std::vector<cv::Point2f> pts(68, cv::Point2f(0, 0));
  for (size_t i = 36; i <= 41; ++i) pts[i] = {10.0f + i - 36, 20};
  for (size_t i = 42; i <= 47; ++i) pts[i] = {50, 20.0f + i - 42};
  for (size_t i = 48; i <= 67; ++i) pts[i] = {30, 60};
  const auto a = landmark_anchors(pts);
  EXPECT_NEAR(a[0].x, 12.5, 1e-9);
  EXPECT_NEAR(a[1].y, 22.5, 1e-9);
  EXPECT_EQ(a[2], cv::Point2d(30, 60));
  EXPECT_THROW(landmark_anchors(std::vector<cv::Point2f>(5)), std::invalid_argument);
}

TEST(FaceAlign, TemplateIsUprightAndSymmetric) {
  const AlignTemplate& t = utkface_template();
  EXPECT_NEAR(t.left_eye.y, t.right_eye.y, 0.02);
  EXPECT_NEAR((t.left_eye.x + t.right_eye.x) / 2, 0.5, 0.03);
  EXPECT_GT(t.mouth.y, t.left_eye.y + 0.15);
}

// A card placed in a scene rotated, scaled and shifted comes back as the card; a large face goes through
// the area pre-shrink and still lines up.
TEST(FaceAlign, AlignedCropUndoesRotationScaleAndShift) {
  const int side = 120;
  const cv::Mat card = test_card(side);
  for (const double scale : {0.6, 1.4, 3.5}) {
    SCOPED_TRACE(scale);
    cv::Mat place = cv::getRotationMatrix2D({side / 2.0, side / 2.0}, 18.0, scale);
    place.at<double>(0, 2) += 300, place.at<double>(1, 2) += 250;
    cv::Mat scene(700, 800, CV_8UC3, cv::Scalar(90, 90, 90));
    cv::warpAffine(card, scene, place, scene.size(), cv::INTER_LINEAR, cv::BORDER_TRANSPARENT);
    const auto pts = template_landmarks(side, place);
    EXPECT_NEAR(aligned_side_in_image(pts), side * scale, 1e-3 * side * scale);
    const cv::Mat aligned = align_face(scene, pts, side);
    ASSERT_EQ(aligned.size(), cv::Size(side, side));
    // Resampling blurs the card's edges a little; a misplaced card would differ by tens of levels.
    EXPECT_LT(mean_abs_diff(aligned, card, 6), scale < 1 ? 9.0 : 5.0);
  }
}

TEST(FaceAlign, CropLeavingTheImageReplicatesEdges) {
  const cv::Mat scene(100, 100, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::Mat place = cv::getRotationMatrix2D({0, 0}, 0, 1.0);
  place.at<double>(0, 2) = -60;  // the face sits half outside on the left
  const cv::Mat aligned = align_face(scene, template_landmarks(100, place), 64);
  ASSERT_EQ(aligned.size(), cv::Size(64, 64));
  EXPECT_EQ(aligned.at<cv::Vec3b>(32, 0), cv::Vec3b(10, 200, 30));
}
