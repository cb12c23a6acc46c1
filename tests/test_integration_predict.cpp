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

TEST(RealUtkFace, HaarFindsPastedFacesInScenes) {
  const std::string archive = agegender::test::utkface_path();
  REQUIRE_UTKFACE(archive);
  const SourceListing src = read_dataset_source(archive);
  FaceDetector det(DetectMode::Haar, "");
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
    const auto boxes = det.haar(scene);
    for (const auto& c : centres) {
      ++pasted;
      for (const auto& b : boxes) {
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
  std::cout << "[ info     ] Haar found " << found << " of " << pasted << " pasted faces (" << 100 * rate << "%); mean box/crop side " << side_ratio / std::max(found, 1) << "\n";
  EXPECT_GE(rate, 0.9);
}
