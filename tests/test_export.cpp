// agegender export: ONNX graphs of small random models of every architecture, checked by python3-onnx
// and run by OpenCV DNN against LibTorch; malformed and foreign .onnx files.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <nlohmann/json.hpp>

#include "agegender/age_calibration.hpp"
#include "agegender/error.hpp"
#include "agegender/onnx_model.hpp"
#include "export_fixture.hpp"
#include "model/onnx_proto.hpp"

using namespace agegender;
using namespace agegender::test;

namespace {

std::string export_case(const TempDir& tmp, const ExportCase& c, bool dynamic_batch = true, int opset = 13) {
  ExportOptions o;
  o.run = write_random_checkpoint(tmp.str(), c);
  o.out = tmp.str(c.arch + "_" + c.head + "_" + c.age_head + ".onnx");
  o.dynamic_batch = dynamic_batch;
  o.opset = opset;
  const ExportReport r = export_model(o);
  EXPECT_GT(r.bytes, 0);
  return o.out;
}

class ExportArch : public ::testing::TestWithParam<ExportCase> {};

}  // namespace

TEST_P(ExportArch, PassesCheckerAndMatchesLibTorch) {
  const ExportCase c = GetParam();
  TempDir tmp;
  const std::string onnx = export_case(tmp, c);
  EXPECT_EQ(onnx_checker(onnx), "");
  const OnnxModelInfo info = read_onnx_model_info(onnx);
  EXPECT_TRUE(info.dynamic_batch);
  EXPECT_EQ(info.has_age, c.age_head == "years");
  EXPECT_EQ(info.class_names, AgeBinning::intuition().class_names());
  EXPECT_EQ(info.input.size, c.size);

  auto torch_engine = make_torch_engine(tmp.str(c.arch + "_" + c.head + "_" + c.age_head + ".safetensors"), "cpu", 2);
  auto cv_engine = make_opencv_engine(onnx, 2);
  torch::manual_seed(7);
  const int64_t n = 6;
  const auto x = torch::randn({n, c.channels, c.size, c.size}).contiguous();
  for (bool tta : {false, true}) {
    const Parity p = compare_engines(*torch_engine, *cv_engine, x.data_ptr<float>(), n, tta);
    std::cout << "[ info     ] " << c.arch << "/" << c.head << "/" << c.age_head << (tta ? " tta" : "") << ": max abs diff "
              << p.max_abs_diff << ", argmax mismatches " << p.argmax_mismatches << "\n";
    EXPECT_LT(p.max_abs_diff, 1e-4);
    EXPECT_EQ(p.argmax_mismatches, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Export, ExportArch,
                         ::testing::Values(ExportCase{"base_cnn", 32}, ExportCase{"base_cnn", 32, "flatten", "years", 1},
                                           ExportCase{"vgg16", 32, "flatten"}, ExportCase{"vgg16", 32, "gap", "years"},
                                           ExportCase{"face_resnet", 150, "gap", "years"}, ExportCase{"face_resnet", 112}),
                         [](const auto& info) {
                           return info.param.arch + "_" + info.param.head + "_" + info.param.age_head + "_c" +
                                  std::to_string(info.param.channels);
                         });

// The checkpoint's age calibration (age_calibration.hpp) is part of the graph: OpenCV DNN reports the same
// calibrated age as LibTorch, and that age is the calibration applied to the uncalibrated model's.
TEST(Export, CalibratedAgeMatchesLibTorch) {
  TempDir tmp;
  const ExportCase c{"base_cnn", 32, "flatten", "years", 1};
  const AgeCalibration cal{1.1, -0.35};
  std::filesystem::create_directories(tmp.path() / "raw");
  const std::string raw = write_random_checkpoint(tmp.str("raw"), c);
  ExportOptions o;
  o.run = write_random_checkpoint(tmp.str(), c, 1, {{"age_calibration", cal.to_json()}});
  o.out = tmp.str("calibrated.onnx");
  export_model(o);
  EXPECT_EQ(onnx_checker(o.out), "");
  auto torch_engine = make_torch_engine(o.run, "cpu", 2);
  auto cv_engine = make_opencv_engine(o.out, 2);
  auto raw_engine = make_torch_engine(raw, "cpu", 2);
  torch::manual_seed(3);
  const int64_t n = 6;
  const auto x = torch::randn({n, c.channels, c.size, c.size}).contiguous();
  EXPECT_EQ(read_onnx_model_info(o.out).age_calibration.to_json(), cal.to_json());
  for (bool tta : {false, true}) {  // with TTA both average the views before the calibration
    const Parity p = compare_engines(*torch_engine, *cv_engine, x.data_ptr<float>(), n, tta);
    EXPECT_LT(p.max_abs_diff, 1e-4) << (tta ? "tta" : "");
    EXPECT_EQ(p.argmax_mismatches, 0);
  }
  EngineOutput calibrated, uncalibrated;
  torch_engine->run(x.data_ptr<float>(), n, false, calibrated);
  raw_engine->run(x.data_ptr<float>(), n, false, uncalibrated);
  ASSERT_EQ(calibrated.ages.size(), static_cast<size_t>(n));
  ASSERT_EQ(uncalibrated.ages.size(), static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_NEAR(calibrated.ages[i], cal.apply(uncalibrated.ages[i]), 1e-3);
    EXPECT_GT(std::abs(calibrated.ages[i] - uncalibrated.ages[i]), 0.01) << "the calibration moved the age";
  }
  EXPECT_EQ(calibrated.age_probs, uncalibrated.age_probs) << "age groups are never changed by it";
}

TEST(Export, FixedBatchAndEveryOpsetPassTheChecker) {
  TempDir tmp;
  for (int opset = kMinOpset; opset <= kMaxOpset; ++opset) {
    const std::string onnx = export_case(tmp, {"base_cnn", 16}, /*dynamic_batch=*/false, opset);
    EXPECT_EQ(onnx_checker(onnx), "") << "opset " << opset;
    const OnnxModelInfo info = read_onnx_model_info(onnx);
    EXPECT_FALSE(info.dynamic_batch);
    EXPECT_EQ(info.batch, 1);
    EXPECT_EQ(info.opset, opset);
  }
  // A fixed-batch model still serves any number of faces (one at a time).
  const std::string onnx = tmp.str("base_cnn_gap_bins.onnx");
  auto torch_engine = make_torch_engine(tmp.str("base_cnn_gap_bins.safetensors"), "cpu", 1);
  auto cv_engine = make_opencv_engine(onnx, 1);
  const auto x = torch::randn({5, 3, 16, 16}).contiguous();
  const Parity p = compare_engines(*torch_engine, *cv_engine, x.data_ptr<float>(), 5);
  EXPECT_LT(p.max_abs_diff, 1e-4);
  EXPECT_EQ(p.argmax_mismatches, 0);
}

TEST(Export, MetadataCarriesThePreprocessing) {
  TempDir tmp;
  const std::string onnx = export_case(tmp, {"base_cnn", 32, "gap", "bins", 1});
  onnx::ModelProto m;
  std::ifstream in(onnx, std::ios::binary);
  ASSERT_TRUE(m.ParseFromIstream(&in));
  std::map<std::string, std::string> meta;
  for (const auto& p : m.metadata_props()) meta[p.key()] = p.value();
  EXPECT_EQ(meta["input_size"], "32");
  EXPECT_EQ(meta["colour_mode"], "gray");
  const auto mean = nlohmann::json::parse(meta["mean"]), std = nlohmann::json::parse(meta["std"]);
  ASSERT_EQ(mean.size(), 1u);
  EXPECT_NEAR(mean[0].get<double>(), 0.449, 1e-6);
  EXPECT_NEAR(std[0].get<double>(), 0.226, 1e-6);
  EXPECT_EQ(meta["class_names"], "[\"0-2\",\"3-12\",\"13-19\",\"20-29\",\"30-44\",\"45-59\",\"60+\"]");
  EXPECT_EQ(meta["class_mean_age"], "[5.0,15.0,25.0,35.0,45.0,55.0,65.0]");
  EXPECT_EQ(meta["arch"], "base_cnn");
  EXPECT_EQ(m.producer_name(), "agegender");
}

TEST(Export, BadOptionsAreUsageErrors) {
  TempDir tmp;
  ExportOptions o;
  o.run = write_random_checkpoint(tmp.str(), {"base_cnn", 16});
  o.out = tmp.str("m.onnx");
  o.opset = 12;
  EXPECT_THROW(export_model(o), UsageError);
  o.opset = 13;
  o.format = "tflite";
  EXPECT_THROW(export_model(o), UsageError);
  o.format = "onnx";
  o.out = tmp.str("no/such/folder/m.onnx");
  EXPECT_THROW(export_model(o), UsageError);
  o.out = tmp.str("m.onnx");
  o.run = tmp.str("missing_run");
  EXPECT_THROW(export_model(o), UsageError);
  EXPECT_FALSE(fs::exists(tmp.str("m.onnx")));
}

namespace {

// The message of read_onnx_model_info's RuntimeError for `path`.
std::string onnx_error(const std::string& path) {
  try {
    read_onnx_model_info(path);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "(no error)";
}

// An exported model, edited by `edit`, saved as `<name>.onnx`.
template <typename Edit>
std::string edited(const TempDir& tmp, const std::string& source, const std::string& name, Edit edit) {
  onnx::ModelProto m;
  std::ifstream in(source, std::ios::binary);
  EXPECT_TRUE(m.ParseFromIstream(&in));
  edit(m);
  const std::string path = tmp.str(name + ".onnx");
  std::ofstream out(path, std::ios::binary);
  m.SerializeToOstream(&out);
  return path;
}

}  // namespace

TEST(Export, MalformedAndForeignFilesGetClearErrors) {
  TempDir tmp;
  const std::string good = export_case(tmp, {"base_cnn", 16});
  write_file(tmp.str("garbage.onnx"), std::string("\xff\xff\xff\xff this is not protobuf", 27));
  EXPECT_NE(onnx_error(tmp.str("garbage.onnx")).find("garbage.onnx: not a readable ONNX protobuf"), std::string::npos)
      << onnx_error(tmp.str("garbage.onnx"));
  write_file(tmp.str("empty.onnx"), "");
  EXPECT_NE(onnx_error(tmp.str("empty.onnx")).find("no graph"), std::string::npos);
  const std::string truncated = read_file(good).substr(0, 1000);
  write_file(tmp.str("truncated.onnx"), truncated);
  EXPECT_NE(onnx_error(tmp.str("truncated.onnx")).find("truncated.onnx:"), std::string::npos);

  const auto foreign = edited(tmp, good, "foreign", [](onnx::ModelProto& m) { m.clear_metadata_props(); });
  EXPECT_NE(onnx_error(foreign).find("foreign.onnx: metadata_props has no 'agegender_onnx' entry (expected an ONNX model written by "
                                     "`agegender export`)"),
            std::string::npos)
      << onnx_error(foreign);
  const auto renamed = edited(tmp, good, "renamed", [](onnx::ModelProto& m) { m.mutable_graph()->mutable_input(0)->set_name("data"); });
  EXPECT_NE(onnx_error(renamed).find("exactly one float tensor named 'input'"), std::string::npos) << onnx_error(renamed);
  const auto resized = edited(tmp, good, "resized", [](onnx::ModelProto& m) {
    m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(2)->set_dim_value(64);
  });
  EXPECT_NE(onnx_error(resized).find("has shape [N, 3, 64, 16], the metadata says [N, 3, 16, 16]"), std::string::npos)
      << onnx_error(resized);
  const auto no_outputs = edited(tmp, good, "no_outputs", [](onnx::ModelProto& m) {
    for (auto& o : *m.mutable_graph()->mutable_output()) o.set_name("prob_" + o.name());
  });
  EXPECT_NE(onnx_error(no_outputs).find("no output named 'age_probs' or 'gender_probs'"), std::string::npos) << onnx_error(no_outputs);
  const auto wrong_k = edited(tmp, good, "wrong_k", [](onnx::ModelProto& m) {
    for (auto& p : *m.mutable_metadata_props()) {
      if (p.key() == "class_names") p.set_value("[\"young\",\"old\"]");
    }
  });
  EXPECT_NE(onnx_error(wrong_k).find("output 'age_probs' has shape [N, 7], expected [N, 2]"), std::string::npos) << onnx_error(wrong_k);
  EXPECT_THROW(read_onnx_model_info(tmp.str("absent.onnx")), UsageError);
}

TEST(Export, CliExitCodes) {
  TempDir tmp;
  const std::string ckpt = write_random_checkpoint(tmp.str(), {"base_cnn", 16});
  auto r = run_cli("export --run " + ckpt + " --out " + tmp.str("m.onnx") + " --dynamic-batch --opset 15");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("export: wrote"), std::string::npos) << r.output;
  r = run_cli("export --run " + ckpt + " --out " + tmp.str("m2.onnx") + " --opset 12");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  write_file(tmp.str("garbage.onnx"), "not an onnx model at all");
  fs::create_directories(tmp.str("faces"));
  cv::Mat face(64, 64, CV_8UC3);
  cv::randu(face, cv::Scalar::all(0), cv::Scalar::all(255));
  ASSERT_TRUE(cv::imwrite(tmp.str("faces/face.png"), face));
  r = run_cli("predict --engine opencv --detect none --model " + tmp.str("garbage.onnx") + " --input " + tmp.str("faces"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("garbage.onnx"), std::string::npos) << r.output;
  // Each engine given the other's model: a usage error with the way out.
  r = run_cli("predict --engine opencv --detect none --model " + tmp.str() + " --input " + tmp.str("faces"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is a folder; this engine takes an .onnx file"), std::string::npos) << r.output;
  r = run_cli("predict --detect none --model " + tmp.str("m.onnx") + " --input " + tmp.str("faces"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("run it with --engine opencv"), std::string::npos) << r.output;
  // The exported model predicts the same rows as the checkpoint it came from.
  r = run_cli("predict --detect none --model " + ckpt + " --input " + tmp.str("faces") + " --out " + tmp.str("torch.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("predict --engine opencv --detect none --model " + tmp.str("m.onnx") + " --input " + tmp.str("faces") + " --out " +
              tmp.str("opencv.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(tmp.str("torch.csv")), read_file(tmp.str("opencv.csv")));
}
