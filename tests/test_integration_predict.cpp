// Face detection on scenes composed from real UTKFace crops (read from ../shared at test time only)
// pasted at known positions onto generated backgrounds.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <random>

#include "agegender/dataset_source.hpp"
#include "agegender/image_decode.hpp"
#include "vision/face_detector.hpp"
#include "test_util.hpp"
#include "utkface_archive.hpp"

using namespace agegender;

namespace {

// Recall at IoU >= 0.3 against the central 70% of each pasted crop (where its face is), and the mean
// ratio detector box side / crop side over the hits (BoxConvention in face_detector.hpp has the calibrated conventions).
void expect_finds_pasted_faces(const SourceListing& src, DetectMode mode, const char* name, double min_recall) {
  DetectorOptions options;
  options.mode = mode;
  options.models = agegender::test::face_models_for_tests();
  FaceDetector det(options);
  std::mt19937 rng(5);
  constexpr int kScenes = 40;
  int pasted = 0, found = 0;
  double side_ratio = 0;  // detected box side / pasted crop side, summed over hits
  for (int s = 0; s < kScenes; ++s) {
    cv::Mat scene(480, 720, CV_8UC3);
    cv::randu(scene, cv::Scalar::all(30), cv::Scalar::all(200));
    cv::GaussianBlur(scene, scene, cv::Size(0, 0), 6);  // textured, not face-like
    std::vector<cv::Rect> centres;
    for (int k = 0; k < 2; ++k) {
      const auto& f = src.files[(static_cast<size_t>(s) * 2 + k) * 257 % src.files.size()];
      cv::Mat crop;
      std::string err;
      ASSERT_TRUE(decode_bgr(f.bytes, &crop, &err)) << f.name << ": " << err;
      const int side = 130 + static_cast<int>(rng() % 70);
      cv::resize(crop, crop, cv::Size(side, side), 0, 0, cv::INTER_AREA);
      const cv::Rect at(k * 360 + 20 + static_cast<int>(rng() % 120), 20 + static_cast<int>(rng() % (460 - side)), side, side);
      crop.copyTo(scene(at));
      // The face fills the central ~70% of an aligned UTKFace crop.
      centres.emplace_back(at.x + side * 3 / 20, at.y + side * 3 / 20, side * 7 / 10, side * 7 / 10);
    }
    const auto boxes = det.raw(scene);
    for (const auto& c : centres) {
      ++pasted;
      for (const auto& [b, score] : boxes) {
        const double inter = (b & c).area(), iou = inter / (b.area() + c.area() - inter);
        if (iou >= 0.3) {
          ++found;
          side_ratio += static_cast<double>(b.width) / (c.width / 0.7);
          break;
        }
      }
    }
  }
  const double rate = static_cast<double>(found) / pasted;
  std::cout << "[ info     ] " << name << " found " << found << " of " << pasted << " pasted faces (" << 100 * rate
            << "%); mean box/crop side " << side_ratio / std::max(found, 1) << "\n";
  EXPECT_GE(rate, min_recall) << name;
}

}  // namespace

TEST(RealUtkFace, DetectorsFindPastedFacesInScenes) {
  const std::string archive = agegender::test::utkface_path();
  REQUIRE_UTKFACE(archive);
  const SourceListing src = read_dataset_source(archive);
  expect_finds_pasted_faces(src, DetectMode::Haar, "Haar", 0.9);
  const std::string models = agegender::test::face_models_for_tests();
  if (!std::filesystem::exists(models + "/ssd_mobilenetv1_model-weights_manifest.json")) {
    if (agegender::test::running_in_ci()) FAIL() << "CI=true but the face models are missing in " << models;
    std::cout << "[ info     ] face models not in " << models << ": SSD and Tiny not measured\n";
    return;
  }
  expect_finds_pasted_faces(src, DetectMode::Ssd, "SSD", 0.8);  // at face-api's default min score 0.5
  expect_finds_pasted_faces(src, DetectMode::Tiny, "Tiny", 0.85);
}
