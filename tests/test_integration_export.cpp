// Exported models on 200 real UTKFace crops: OpenCV DNN's probabilities against LibTorch's for every
// architecture (seeded random weights), and for the trained runs of this checkout when present.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include "agegender/dataset_source.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/onnx_model.hpp"
#include "export_fixture.hpp"
#include "utkface_archive.hpp"

using namespace agegender;
using namespace agegender::test;

namespace {

constexpr int kCrops = 200;

// Normalised model inputs of `n` crops spread over the archive, made the way predict --detect none makes
// them (centre square at the source size, then the model contract).
std::vector<float> utkface_inputs(const SourceListing& src, const ModelInput& in, int n) {
  const size_t face = static_cast<size_t>(in.channels) * in.size * in.size;
  std::vector<float> x(face * n);
  std::vector<uint8_t> source(static_cast<size_t>(in.source_size) * in.source_size * 3), chw(face);
  for (int i = 0; i < n; ++i) {
    const auto& f = src.files[(static_cast<size_t>(i) * 397) % src.files.size()];
    cv::Mat bgr;
    std::string err;
    if (!decode_bgr(f.bytes, &bgr, &err)) throw std::runtime_error(f.name + ": " + err);
    center_square_rgb(bgr, in.source_size, source.data());
    source_to_model(source.data(), in, chw.data());
    normalize_pixels(chw.data(), in, x.data() + i * face);
  }
  return x;
}

void expect_parity_on_crops(const SourceListing& src, const std::string& checkpoint, const std::string& onnx, const std::string& what) {
  ExportOptions o;
  o.run = checkpoint;
  o.out = onnx;
  o.dynamic_batch = true;
  export_model(o);
  EXPECT_EQ(onnx_checker(onnx), "") << what;
  auto torch_engine = make_torch_engine(checkpoint, "cpu", 2);
  auto cv_engine = make_opencv_engine(onnx, 2);
  const std::vector<float> x = utkface_inputs(src, torch_engine->input(), kCrops);
  const Parity p = compare_engines(*torch_engine, *cv_engine, x.data(), kCrops);
  std::cout << "[ info     ] " << what << ": " << p.faces << " UTKFace crops, max abs diff " << p.max_abs_diff
            << ", argmax mismatches " << p.argmax_mismatches << "\n";
  EXPECT_EQ(p.faces, kCrops);
  EXPECT_LT(p.max_abs_diff, 1e-4) << what;
  EXPECT_EQ(p.argmax_mismatches, 0) << what;
}

}  // namespace

TEST(RealUtkFace, ExportedModelsMatchLibTorchOnCrops) {
  REQUIRE_UTKFACE(utkface_path());
  const SourceListing src = read_dataset_source(utkface_path());
  TempDir tmp;
  for (const ExportCase& c : {ExportCase{"base_cnn", 64}, ExportCase{"vgg16", 64, "flatten"}, ExportCase{"face_resnet", 150, "gap", "years"}}) {
    const std::string ckpt = write_random_checkpoint(tmp.str(), c);
    expect_parity_on_crops(src, ckpt, tmp.str(c.arch + ".onnx"), c.arch + " (random weights)");
  }
  // The trained runs of this checkout (git-ignored; absent in a fresh clone).
  for (const char* run : {"runs/face_resnet_intuition_scratch", "runs/visitors_quickstart"}) {
    const fs::path dir = fs::path(AGEGENDER_SOURCE_DIR) / run;
    if (!fs::exists(dir / "best.safetensors")) {
      std::cout << "[ info     ] " << dir.string() << " not present: trained-run parity not measured\n";
      continue;
    }
    expect_parity_on_crops(src, dir.string(), tmp.str(dir.filename().string() + ".onnx"), run);
  }
}

// The OpenCV-only build (-DAGEGENDER_WITH_TORCH=OFF) configures, builds, refuses what needs LibTorch, and
// predicts with an exported model exactly what the full build's OpenCV engine predicts.
TEST(OpencvOnlyBuild, BuildsAndPredictsLikeTheFullBuild) {
  TempDir tmp;
  const std::string ckpt = write_random_checkpoint(tmp.str(), {"base_cnn", 32});
  auto r = run_cli("export --run " + ckpt + " --out " + tmp.str("m.onnx") + " --dynamic-batch");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  fs::create_directories(tmp.str("faces"));
  for (int i = 0; i < 6; ++i) {
    cv::Mat face(40 + 8 * i, 40 + 8 * i, CV_8UC3);
    cv::randu(face, cv::Scalar::all(0), cv::Scalar::all(255));
    ASSERT_TRUE(cv::imwrite(tmp.str("faces/face" + std::to_string(i) + ".png"), face));
  }
  const std::string build = tmp.str("build-opencv-only");
  const std::string launcher = run_shell("command -v ccache").exit_code == 0 ? " -DCMAKE_CXX_COMPILER_LAUNCHER=ccache" : "";
  r = run_shell("cmake -S " AGEGENDER_SOURCE_DIR " -B " + build + " -G Ninja -DCMAKE_BUILD_TYPE=Release" +
                " -DAGEGENDER_WITH_TORCH=OFF -DAGEGENDER_BUILD_TESTS=OFF" + launcher + " && cmake --build " + build + " -j2");
  ASSERT_EQ(r.exit_code, 0) << r.output.substr(r.output.size() > 4000 ? r.output.size() - 4000 : 0);
  const std::string small = build + "/agegender";
  EXPECT_LT(fs::file_size(small), fs::file_size(AGEGENDER_BIN));
  const std::string args = " --engine opencv --detect none --model " + tmp.str("m.onnx") + " --input " + tmp.str("faces");
  r = run_cli("predict" + args + " --out " + tmp.str("full.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_shell(small + " predict" + args + " --out " + tmp.str("small.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_lines(tmp.str("small.csv")).size(), 7u);
  EXPECT_EQ(read_file(tmp.str("small.csv")), read_file(tmp.str("full.csv")));
  r = run_shell(small + " train --config x.json");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("LibTorch"), std::string::npos) << r.output;
  r = run_shell(small + " predict --detect none --model " + ckpt + " --input " + tmp.str("faces"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
}
