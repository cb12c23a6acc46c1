// The extra detection passes (mirrored, rotated, brightened, tiled frames) map their boxes back to the frame, and the
// merge keeps one box per face (the main pass's where it found the face) with votes; on frames the test
// draws, with a stand-in detector that boxes the bright pixels.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "agegender/detection_flags.hpp"
#include "agegender/error.hpp"
#include "vision/detection_passes.hpp"
#include "vision/face_detector.hpp"

using namespace agegender;

namespace {

// A "detector" that finds one face: the bounding box of the bright pixels, score 0.9.
std::vector<Detection> bright_box(const cv::Mat& rgb) {
  cv::Mat gray, mask;
  cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
  cv::threshold(gray, mask, 128, 255, cv::THRESH_BINARY);
  const cv::Rect box = cv::boundingRect(mask);
  if (box.area() == 0) return {};
  return {{box, 0.9f}};
}

cv::Mat frame_with_square(cv::Size size, const cv::Rect& square) {
  cv::Mat rgb(size, CV_8UC3, cv::Scalar::all(20));
  cv::rectangle(rgb, square, cv::Scalar::all(240), cv::FILLED);
  return rgb;
}

}  // namespace

TEST(DetectionPasses, MirroredPassMapsBoxesBack) {
  const cv::Rect square(10, 20, 30, 25);
  const auto found = flipped_pass(bright_box, frame_with_square({100, 80}, square));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].box, square);
}

TEST(DetectionPasses, RotatedPassesBringTheFaceCentreBack) {
  const cv::Rect square(120, 40, 24, 24);  // off the rotation centre, so the rotation moves it
  for (const double degrees : {15.0, -15.0, 30.0}) {
    const auto found = rotated_pass(bright_box, frame_with_square({320, 200}, square), degrees);
    ASSERT_EQ(found.size(), 1u) << degrees;
    const cv::Rect& b = found[0].box;
    EXPECT_NEAR(b.x + b.width / 2.0, 132, 1.5) << degrees;
    EXPECT_NEAR(b.y + b.height / 2.0, 52, 1.5) << degrees;
    EXPECT_GT(b.width, 24) << degrees;  // the rotated square's bounding box
  }
}

TEST(DetectionPasses, BrightenedPassLiftsDimFacesAboveTheDetectorsThreshold) {
  cv::Mat rgb(80, 100, CV_8UC3, cv::Scalar::all(5));
  const cv::Rect dim(30, 20, 25, 25);
  cv::rectangle(rgb, dim, cv::Scalar::all(80), cv::FILLED);  // under bright_box's 128; 143 after gamma 0.5
  EXPECT_TRUE(bright_box(rgb).empty());
  const auto found = brightened_pass(bright_box, rgb);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].box, dim);
}

TEST(DetectionPasses, TilesKeepOnlySmallFindsInFramePixels) {
  const cv::Rect small(250, 170, 12, 12);
  const auto found = tiled_pass(bright_box, frame_with_square({400, 300}, small));
  ASSERT_FALSE(found.empty());
  for (const auto& d : found) EXPECT_EQ(d.box, small);
  // A face larger than a third of a tile (160 px tiles here) is the main pass's business.
  EXPECT_TRUE(tiled_pass(bright_box, frame_with_square({400, 300}, {100, 60, 90, 90})).empty());
}

TEST(DetectionPasses, MergeKeepsTheMainBoxCountsVotesAndDropsUnconfirmedWeakFaces) {
  const std::vector<Detection> primary = {{{100, 100, 40, 40}, 0.6f}, {{300, 100, 40, 40}, 0.4f}};
  const std::vector<std::vector<Detection>> passes = {
      {{{104, 98, 42, 44}, 0.9f},    // the first face again, better score
       {{500, 300, 30, 30}, 0.3f}},  // a face the main pass missed, seen by three passes
      {{{302, 103, 38, 40}, 0.35f},  // the second face again
       {{502, 301, 30, 30}, 0.45f}},
      {{{498, 299, 30, 30}, 0.3f}, {{700, 50, 30, 30}, 0.3f}}};  // ... and a lone weak face
  const auto all = merge_detections(primary, passes);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].box, primary[0].box);  // the main pass frames it
  EXPECT_FLOAT_EQ(all[0].score, 0.9f);
  EXPECT_EQ(all[2].box, passes[1][1].box);  // new faces: the best-scoring box
  // Two passes needed under 0.5: the lone weak face goes, the confirmed ones stay.
  MergeRule votes;
  votes.min_votes = 2;
  votes.sure_score = 0.5f;
  const auto voted = merge_detections(primary, passes, votes);
  ASSERT_EQ(voted.size(), 3u);
  EXPECT_EQ(voted[1].box, primary[1].box);
  EXPECT_EQ(voted[2].box, passes[1][1].box);
  // Votes count passes, not boxes: two boxes of one pass on the lone face are still one vote.
  auto twice = passes;
  twice[2].push_back({{701, 51, 30, 30}, 0.25f});
  EXPECT_EQ(merge_detections(primary, twice, votes).size(), 3u);
}

TEST(DetectionPasses, CommandLineListsParseOrSayWhatIsWrong) {
  DetectorOptions o;
  parse_detect_passes("flip,rotate:20,bright,tiles", o);
  EXPECT_TRUE(o.flip_pass);
  EXPECT_TRUE(o.bright_pass);
  EXPECT_TRUE(o.small_faces);
  EXPECT_DOUBLE_EQ(o.rotation_pass, 20);
  DetectorOptions plain;
  parse_detect_passes("rotate", plain);
  EXPECT_DOUBLE_EQ(plain.rotation_pass, 15);
  for (const char* bad : {"wobble", "flip,,rotate", "rotate:90", "rotate:x", "rotate:0", "zoom"}) {
    DetectorOptions b;
    EXPECT_THROW(parse_detect_passes(bad, b), UsageError) << bad;
  }
  DetectionFlags f;
  f.detect = "ssd";
  f.vote_score = 0.2f;
  EXPECT_THROW(detector_options(f), UsageError);  // votes need passes
  f.passes = "flip";
  const DetectorOptions voted = detector_options(f);
  EXPECT_FLOAT_EQ(voted.min_score, 0.2f);  // the network keeps boxes from the vote score ...
  EXPECT_FLOAT_EQ(voted.merge.sure_score, 0.5f); // ... and those under --min-score need two passes
  EXPECT_EQ(voted.merge.min_votes, 2);
  f.vote_score = 0.6f;
  EXPECT_THROW(detector_options(f), UsageError);  // not below --min-score
}
