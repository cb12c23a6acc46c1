// Landmarks and alignment on real UTKFace crops (read from ../shared at test time only) pasted rotated
// into generated scenes: alignment brings a found face back to its crop's framing, and predict writes
// landmarks and scores only when asked.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "agegender/dataset_source.hpp"
#include "agegender/image_decode.hpp"
#include "prepared_fixture.hpp"
#include "test_util.hpp"
#include "utkface_archive.hpp"
#include "vision/face_align.hpp"
#include "vision/face_detector.hpp"

using namespace agegender;
using namespace agegender::test;

namespace {

struct Pasted {
  cv::Mat crop;   // the original UTKFace crop
  cv::Rect at;    // where its square was pasted (rotated about its centre)
};

// One 640x480 textured scene with `crops` pasted at 150-170 px, each rotated by +-(8..18) degrees.
cv::Mat rotated_scene(const std::vector<cv::Mat>& crops, std::mt19937& rng, std::vector<Pasted>& pasted) {
  cv::Mat scene(480, 640, CV_8UC3);
  cv::randu(scene, cv::Scalar::all(30), cv::Scalar::all(200));
  cv::GaussianBlur(scene, scene, cv::Size(0, 0), 6);
  for (size_t k = 0; k < crops.size(); ++k) {
    const int side = 150 + static_cast<int>(rng() % 20);
    cv::Mat face;
    cv::resize(crops[k], face, cv::Size(side, side), 0, 0, cv::INTER_AREA);
    const double angle = (8 + static_cast<int>(rng() % 11)) * (rng() % 2 ? 1 : -1);
    const cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f(side / 2.0f, side / 2.0f), angle, 1.0);
    cv::warpAffine(face, face, rot, face.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    const cv::Rect at(40 + static_cast<int>(k) * 300 + static_cast<int>(rng() % 40), 60 + static_cast<int>(rng() % 200), side, side);
    face.copyTo(scene(at));
    pasted.push_back({crops[k], at});
  }
  return scene;
}

double mean_abs_diff_96(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat ra, rb, d;
  cv::resize(a, ra, cv::Size(96, 96), 0, 0, cv::INTER_AREA);
  cv::resize(b, rb, cv::Size(96, 96), 0, 0, cv::INTER_AREA);
  cv::absdiff(ra(cv::Rect(12, 12, 72, 72)), rb(cv::Rect(12, 12, 72, 72)), d);  // the face, not the background
  const cv::Scalar m = cv::mean(d);
  return (m[0] + m[1] + m[2]) / 3;
}

std::vector<cv::Mat> some_crops(size_t n) {
  const SourceListing src = read_dataset_source(utkface_path());
  std::vector<cv::Mat> crops;
  for (size_t i = 0; crops.size() < n && i < src.files.size(); i += 397) {
    cv::Mat bgr;
    std::string err;
    if (decode_bgr(src.files[i].bytes, &bgr, &err)) crops.push_back(bgr);
  }
  return crops;
}

}  // namespace

TEST(RealUtkFace, AlignmentBringsRotatedFacesBackToTheirCrops) {
  REQUIRE_UTKFACE(utkface_path());
  REQUIRE_FACE_MODEL("ssd_mobilenetv1_model");
  REQUIRE_FACE_MODEL("face_landmark_68_model");
  const std::vector<cv::Mat> crops = some_crops(24);
  DetectorOptions o;
  o.mode = DetectMode::Ssd;
  o.models = face_models_for_tests();
  o.align = AlignMode::Off;
  FaceDetector plain(o);
  o.align = AlignMode::On;
  FaceDetector aligning(o);
  EXPECT_TRUE(aligning.aligns());
  EXPECT_FALSE(plain.aligns());
  std::mt19937 rng(3);
  double diff_aligned = 0, diff_plain = 0;
  int compared = 0;
  for (size_t s = 0; s + 2 <= crops.size(); s += 2) {
    std::vector<Pasted> pasted;
    const cv::Mat scene = rotated_scene({crops[s], crops[s + 1]}, rng, pasted);
    const auto a = aligning.detect(scene), p = plain.detect(scene);
    for (const Pasted& face : pasted) {
      const auto inside = [&](const FoundFace& f) {
        const cv::Point c(f.box.x + f.box.width / 2, f.box.y + f.box.height / 2);
        return face.at.contains(c);
      };
      const auto fa = std::find_if(a.begin(), a.end(), inside);
      const auto fp = std::find_if(p.begin(), p.end(), inside);
      if (fa == a.end() || fp == p.end()) continue;
      ASSERT_EQ(fa->landmarks.size(), 68u);
      EXPECT_TRUE(fp->landmarks.empty());  // no landmark net unless aligning or asked
      EXPECT_EQ(fa->crop.rows, fa->crop.cols);
      diff_aligned += mean_abs_diff_96(fa->crop, face.crop);
      diff_plain += mean_abs_diff_96(fp->crop, face.crop);
      ++compared;
    }
  }
  ASSERT_GE(compared, 18) << "SSD should find most of these large faces";
  diff_aligned /= compared, diff_plain /= compared;
  std::cout << "[ info     ] " << compared << " rotated faces: mean |aligned - crop| " << diff_aligned
            << ", |as detected - crop| " << diff_plain << " (grey levels, central 75 %)\n";
  EXPECT_LT(diff_aligned, 0.7 * diff_plain);
  EXPECT_LT(diff_aligned, 20.0);
}

TEST(RealUtkFace, PredictWritesScoresAndLandmarksOnlyWhenAsked) {
  REQUIRE_UTKFACE(utkface_path());
  REQUIRE_FACE_MODEL("ssd_mobilenetv1_model");
  REQUIRE_FACE_MODEL("face_landmark_68_model");
  TempDir tmp;
  const std::string run = train_tiny_model(tmp, 64, 32);
  std::mt19937 rng(9);
  std::vector<Pasted> pasted;
  cv::imwrite(tmp.str("scene.jpg"), rotated_scene(some_crops(2), rng, pasted));
  const std::string base = "predict --model " + run + " --input " + tmp.str("scene.jpg") + " --detect ssd --models " +
                           face_models_for_tests() + " --threads 2 -q";
  const RunResult with = run_cli(base + " --format jsonl --landmarks --out " + tmp.str("with.jsonl"));
  ASSERT_EQ(with.exit_code, 0) << with.output;
  const auto lines = read_lines(tmp.path() / "with.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_GT(j["score"].get<double>(), 0.5);
    ASSERT_EQ(j["landmarks"].size(), 68u);
    const cv::Rect box(j["x"], j["y"], j["w"], j["h"]);
    for (const auto& p : j["landmarks"]) EXPECT_TRUE(box.contains(cv::Point(p[0].get<int>(), p[1].get<int>()))) << p;
  }
  const RunResult without = run_cli(base + " --format jsonl --out " + tmp.str("without.jsonl"));
  ASSERT_EQ(without.exit_code, 0) << without.output;
  const auto j = nlohmann::json::parse(read_lines(tmp.path() / "without.jsonl").at(0));
  EXPECT_FALSE(j.contains("landmarks"));
  EXPECT_FALSE(j.contains("score"));
  const RunResult csv = run_cli(base + " --format csv --landmarks --out " + tmp.str("with.csv"));
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  EXPECT_EQ(read_lines(tmp.path() / "with.csv").at(0),
            "file,frame,face,x,y,w,h,age_group,age_prob,age,gender,gender_prob,score,landmarks,error");
  const RunResult bad = run_cli(base + " --align sideways --out " + tmp.str("bad.jsonl"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
}
