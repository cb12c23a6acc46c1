// predict on generated images and video: output format, streaming rows, robustness to bad inputs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agegender/config.hpp"
#include "agegender/error.hpp"
#include "agegender/predictor.hpp"
#include "agegender/trainer.hpp"
#include "predict/demographics.hpp"
#include "predict/result_writer.hpp"
#include "prepared_fixture.hpp"

#ifdef AGEGENDER_HAS_OPENCV
#include <opencv2/videoio.hpp>

#include "vision/face_detector.hpp"
#include "fixtures.hpp"
#endif

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

TEST(ResultWriter, CsvAndJsonLines) {
  PredictionRow quoted{"a,b.jpg", -1, 0, 1, 2, 3, 4, "20-29", 0.5, 25, "male", 0.9, ""};
  EXPECT_EQ(ResultWriter::csv_line(quoted).rfind("\"a,b.jpg\",", 0), 0u);
  PredictionRow ok{"x.jpg", -1, 0, 1, 2, 3, 4, "20-29", 0.8123, 25.06, "female", 0.9, ""};
  EXPECT_EQ(ResultWriter::csv_line(ok), "x.jpg,,0,1,2,3,4,20-29,0.8123,25.1,female,0.9000,\n");
  PredictionRow bad{"y.jpg", 7, 0, 0, 0, 0, 0, "", 0, 0, "", 0, "cannot decode image"};
  EXPECT_EQ(ResultWriter::csv_line(bad), "y.jpg,7,0,0,0,0,0,,,,,,cannot decode image\n");
  const json j = json::parse(ResultWriter::json_line(bad));
  EXPECT_EQ(j["frame"], 7);
  EXPECT_TRUE(j["age_group"].is_null());
  EXPECT_EQ(j["error"], "cannot decode image");
  EXPECT_FALSE(j.contains("landmarks"));
  // --landmarks: score and "x y" pairs before `error`; empty / null on error rows.
  ok.marks.score = 0.97f;
  ok.marks.xy = {10.04f, 20.0f, 11.5f, 21.25f};
  EXPECT_EQ(ResultWriter::csv_line(ok, true), "x.jpg,,0,1,2,3,4,20-29,0.8123,25.1,female,0.9000,0.9700,10.0 20.0 11.5 21.2,\n");
  EXPECT_EQ(ResultWriter::csv_line(bad, true), "y.jpg,7,0,0,0,0,0,,,,,,,,cannot decode image\n");
  const json jl = json::parse(ResultWriter::json_line(ok, true));
  EXPECT_NEAR(jl["score"].get<double>(), 0.97, 1e-6);
  EXPECT_EQ(jl["landmarks"].size(), 2u);
  EXPECT_NEAR(jl["landmarks"][1][1].get<double>(), 21.25, 1e-6);
  EXPECT_TRUE(json::parse(ResultWriter::json_line(bad, true))["landmarks"].is_null());
}

TEST(Demographics, CountsPerGroupGenderAndWindow) {
  Demographics d({"0-19", "20+"}, 10);
  d.add("20+", "female", 3);
  d.add("20+", "male", 15);
  d.add("0-19", "female", -1);
  const json j = d.to_json();
  EXPECT_EQ(j["faces"], 3);
  EXPECT_EQ(j["counts"]["20+"]["female"], 1);
  EXPECT_EQ(j["counts"]["0-19"]["male"], 0);
  ASSERT_EQ(j["windows"].size(), 2u);
  EXPECT_EQ(j["windows"][1]["first_frame"], 10);
  EXPECT_NE(d.table().find("|20+|1|1|2|"), std::string::npos) << d.table();
  EXPECT_NE(d.table().find("|total|1|2|3|"), std::string::npos) << d.table();
}

#ifdef AGEGENDER_HAS_OPENCV
namespace {

class Predict : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    run_ = new std::string(train_tiny_model(*dir_, 200, 32));
  }
  static void TearDownTestSuite() {
    delete run_;
    delete dir_;
  }
  static std::vector<std::string> lines(const fs::path& p) { return read_lines(p); }
  static TempDir* dir_;
  static std::string* run_;
};
TempDir* Predict::dir_ = nullptr;
std::string* Predict::run_ = nullptr;

}  // namespace

TEST_F(Predict, FolderWithBadFilesYieldsErrorRowsAndContinues) {
  TempDir tmp;
  const fs::path in = tmp.path() / "in";
  write_synthetic_dataset(in / "faces", 5, 64);
  const std::string face = encode_jpg(synthetic_face(40, 1, 7, 64));
  write_file(in / "truncated.jpg", face.substr(0, face.size() / 2));
  write_file(in / "text.jpg", "not an image at all");
  write_file(in / "empty.jpg", "");
  write_file(in / "notes.txt", "ignored: not an image extension");
  cv::Mat gray = synthetic_face(30, 0, 3, 64), gray1;
  cv::cvtColor(gray, gray1, cv::COLOR_BGR2GRAY);
  cv::imwrite((in / "gray.png").string(), gray1);
  cv::Mat deep;
  gray.convertTo(deep, CV_16UC3, 257);
  cv::imwrite((in / "deep16.png").string(), deep);
  cv::Mat rgba;
  cv::cvtColor(gray, rgba, cv::COLOR_BGR2BGRA);
  cv::imwrite((in / "rgba.png").string(), rgba);
  cv::imwrite((in / "tiny.png").string(), cv::Mat(1, 1, CV_8UC3, cv::Scalar(50, 60, 70)));
  cv::imwrite((in / "huge.jpg").string(), cv::Mat(8000, 8000, CV_8UC3, cv::Scalar(90, 90, 90)));
  if (std::system(("/usr/bin/python3 -c \"from PIL import Image; Image.new('CMYK', (64, 64), (0, 50, 100, 0)).save('" +
                   (in / "cmyk.jpg").string() + "')\" 2>/dev/null").c_str()) != 0) {
    std::cout << "[ info     ] PIL absent: CMYK JPEG case not generated\n";
  }

  PredictOptions o;
  o.model = *run_;
  o.input = in.string();
  o.out = tmp.str("out.csv");
  o.detect = "auto";
  o.quiet = true;
  o.summary = true;
  o.annotate = tmp.str("annotated");
  o.max_pixels = 100'000'000;  // huge.jpg is 64 MP: over the default cap (test_hostile_inputs.cpp covers that)
  const PredictReport r = run_predict(o);
  const auto rows = lines(o.out);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], ResultWriter::kColumns);
  std::map<std::string, std::string> by_file;
  for (size_t i = 1; i < rows.size(); ++i) by_file[fs::path(rows[i].substr(0, rows[i].find(','))).filename().string()] = rows[i];
  EXPECT_NE(by_file["truncated.jpg"].find("truncated JPEG"), std::string::npos);
  EXPECT_NE(by_file["text.jpg"].find("cannot decode"), std::string::npos);
  EXPECT_NE(by_file["empty.jpg"].find("empty file"), std::string::npos);
  EXPECT_EQ(by_file.count("notes.txt"), 0u);
  for (const char* ok : {"gray.png", "deep16.png", "rgba.png", "tiny.png"}) {
    ASSERT_TRUE(by_file.count(ok)) << ok;
    EXPECT_EQ(by_file[ok].back(), ',') << ok << ": " << by_file[ok];  // empty error column
    EXPECT_TRUE(by_file[ok].find(",female,") != std::string::npos || by_file[ok].find(",male,") != std::string::npos) << by_file[ok];
  }
  if (by_file.count("cmyk.jpg")) EXPECT_EQ(by_file["cmyk.jpg"].back(), ',') << by_file["cmyk.jpg"];
  // A uniform 8000x8000 picture is neither a face crop (not detected) nor square-ish... it is square, so
  // auto treats it as a crop; what matters is that it is read and answered without blowing up.
  ASSERT_TRUE(by_file.count("huge.jpg"));
  EXPECT_EQ(r.errors, 3u);
  EXPECT_EQ(rows.size() - 1, r.inputs);  // one row per input: auto treats each square crop as one face
  EXPECT_GT(r.read_ok, 8u);
  EXPECT_TRUE(fs::exists(tmp.path() / "out.csv.summary.json"));
  EXPECT_EQ(json::parse(read_file(tmp.path() / "out.csv.summary.json"))["faces"], r.faces);
  EXPECT_TRUE(fs::exists(tmp.path() / "annotated" / "gray.png"));
}

TEST_F(Predict, JsonlAndDetectNone) {
  TempDir tmp;
  write_synthetic_dataset(tmp.path() / "in", 3, 48);
  PredictOptions o;
  o.model = *run_;
  o.input = tmp.str("in");
  o.out = tmp.str("out.jsonl");
  o.format = "jsonl";
  o.detect = "none";
  o.quiet = true;
  const auto r = run_predict(o);
  EXPECT_EQ(r.faces, 3u);
  const auto rows = lines(o.out);
  ASSERT_EQ(rows.size(), 3u);
  const json j = json::parse(rows[0]);
  EXPECT_EQ(j["w"], 48);
  EXPECT_TRUE(j["frame"].is_null());
  EXPECT_GT(j["age_prob"].get<double>(), 0.0);
  EXPECT_EQ(j["error"], "");
}

TEST_F(Predict, VideoEveryNthFrameAndAnnotatedVideo) {
  TempDir tmp;
  const std::string video = tmp.str("clip.avi");
  {
    cv::VideoWriter w(video, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(96, 96));
    ASSERT_TRUE(w.isOpened());
    for (int i = 0; i < 10; ++i) w.write(synthetic_face(20 + i, i % 2, static_cast<unsigned>(i), 96));
  }
  PredictOptions o;
  o.model = *run_;
  o.input = video;
  o.out = tmp.str("v.csv");
  o.detect = "none";  // synthetic faces are not Haar faces: treat each frame as a crop
  o.every = 3;
  o.quiet = true;
  o.annotate = tmp.str("annotated.avi");
  o.summary = true;
  o.summary_window = 5;
  const auto r = run_predict(o);
  const auto rows = lines(o.out);
  ASSERT_EQ(rows.size(), 5u);  // header + frames 0, 3, 6, 9
  EXPECT_EQ(rows[2].substr(rows[2].find(',') + 1, 2), "3,");
  EXPECT_EQ(r.summary["windows"].size(), 2u);
  cv::VideoCapture cap(o.annotate);
  ASSERT_TRUE(cap.isOpened());
  EXPECT_EQ(static_cast<int>(cap.get(cv::CAP_PROP_FRAME_COUNT)), 4);
}

TEST_F(Predict, NoFaceGivesAnErrorRow) {
  TempDir tmp;
  cv::Mat landscape(300, 600, CV_8UC3);
  cv::randu(landscape, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::imwrite(tmp.str("landscape.png"), landscape);
  PredictOptions o;
  o.model = *run_;
  o.input = tmp.str("landscape.png");
  o.out = tmp.str("o.csv");
  o.detect = "auto";  // not square: no whole-image fallback
  o.quiet = true;
  const auto r = run_predict(o);  // the image was read: no exception
  EXPECT_EQ(r.faces, 0u);
  EXPECT_EQ(r.errors, 1u);
  EXPECT_NE(read_file(o.out).find("no face found"), std::string::npos);
}

TEST_F(Predict, BadPathsAndUnreadableInputs) {
  TempDir tmp;
  PredictOptions o;
  o.model = *run_;
  o.quiet = true;
  o.out = tmp.str("o.csv");
  o.input = tmp.str("missing");
  EXPECT_THROW(run_predict(o), UsageError);
  fs::create_directories(tmp.path() / "empty");
  o.input = tmp.str("empty");
  EXPECT_THROW(run_predict(o), UsageError);
  write_file(tmp.path() / "broken.mp4", "not a video");
  o.input = tmp.str("broken.mp4");
  EXPECT_THROW(run_predict(o), RuntimeError);  // nothing readable: exit 1, but the error row is written
  EXPECT_NE(read_file(o.out).find("cannot open video"), std::string::npos);
  o.input = tmp.str("empty");
  o.model = tmp.str("nope");
  EXPECT_THROW(run_predict(o), UsageError);
  const auto cli = run_cli("predict --model " + *run_ + " --input " + tmp.str("missing"));
  EXPECT_EQ(cli.exit_code, 2) << cli.output;
  if (!torch::cuda::is_available()) {
    write_file(tmp.path() / "face.png", "");
    const auto gpu = run_cli("predict --model " + *run_ + " --input " + tmp.str("face.png") + " --device cuda");
    EXPECT_EQ(gpu.exit_code, 2) << gpu.output;
    EXPECT_NE(gpu.output.find("--device = \"cuda\" but no CUDA device"), std::string::npos) << gpu.output;
  }
}

TEST(FaceBoxes, FramingAndPaddedCrop) {
  // Each detector's box maps back to the crop it came from; the framing is that crop grown 1.1x.
  const cv::Rect2d crop(100, 80, 200, 200);
  for (const DetectMode mode : {DetectMode::Haar, DetectMode::Ssd, DetectMode::Tiny}) {
    const BoxConvention c = box_convention(mode);
    const cv::Rect2d back = c.crop_of(c.box_of(crop));
    EXPECT_NEAR(back.x, crop.x, 1e-9);
    EXPECT_NEAR(back.y, crop.y, 1e-9);
    EXPECT_NEAR(back.width, crop.width, 1e-9);
    const cv::Rect2d b = c.box_of(crop);
    const cv::Rect f = framed_face_box(cv::Rect(int(std::lround(b.x)), int(std::lround(b.y)), int(std::lround(b.width)),
                                                int(std::lround(b.height))), mode);
    // The crop grown 1.1x about its centre: (90, 70, 220, 220), within the box's rounding.
    EXPECT_NEAR(f.x, 90, 1) << static_cast<int>(mode);
    EXPECT_NEAR(f.y, 70, 1) << static_cast<int>(mode);
    EXPECT_NEAR(f.width, 220, 1) << static_cast<int>(mode);
    EXPECT_EQ(f.width, f.height);
  }
  const cv::Mat img(50, 50, CV_8UC3, cv::Scalar(1, 2, 3));
  const cv::Mat c = crop_face(img, cv::Rect(-10, 30, 40, 40));
  EXPECT_EQ(c.size(), cv::Size(40, 40));
  EXPECT_EQ(c.at<cv::Vec3b>(0, 0), cv::Vec3b(1, 2, 3));
}
#endif
