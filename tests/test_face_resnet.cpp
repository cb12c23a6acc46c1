// The face descriptor network's port on weights the test writes: TF.js layout round trip, output shape,
// the residual down blocks' padding, face-api's preprocessing, and clear errors for unfit weights.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "agegender/error.hpp"
#include "agegender/face_api_input.hpp"
#include "agegender/face_embedder.hpp"
#include "agegender/tfjs_weights.hpp"
#include "model/face_resnet.hpp"
#include "agegender/config.hpp"
#include "face_resnet_fixture.hpp"
#include "model/checkpoint.hpp"
#include "prepared_fixture.hpp"
#include "test_util.hpp"

using namespace agegender;
using namespace agegender::test;


TEST(FaceResNet, LoadsTfjsLayoutsByNameAndComputesDescriptors) {
  torch::manual_seed(4);
  FaceResNet source;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : source->parameters()) p.normal_(0, 0.05);
  }
  TempDir tmp;
  write_as_tfjs(*source, tmp.path());
  FaceResNet loaded;
  load_face_resnet_tfjs(*loaded, read_tfjs_weights(tmp.str("face_recognition_model-weights_manifest.json")));
  const auto a = source->named_parameters(true), b = loaded->named_parameters(true);
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();

  torch::NoGradGuard no_grad;
  loaded->eval();
  const auto x = torch::randn({2, 3, 150, 150});
  const auto f = loaded->pooled(x);
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{2, 256}));
  EXPECT_EQ(loaded->descriptor(f).sizes(), (std::vector<int64_t>{2, 128}));
  EXPECT_TRUE(torch::allclose(loaded->forward(x), source->forward(x)));

  FaceEmbedder embedder(tmp.str());
  std::vector<uint8_t> face(120 * 100 * 3, 128);
  const auto d = embedder.embed({{face.data(), 120, 100}, {face.data(), 100, 120}});
  ASSERT_EQ(d.size(), 256u);
  for (float v : d) EXPECT_TRUE(std::isfinite(v));
}

TEST(FaceResNet, UnfitWeightsNameTheManifestAndTensor) {
  FaceResNet net;
  TempDir tmp;
  write_as_tfjs(*net, tmp.path(), "conv64_2/conv1/scale/weights");
  try {
    load_face_resnet_tfjs(*net, read_tfjs_weights(tmp.str("face_recognition_model-weights_manifest.json")));
    FAIL() << "a missing tensor was accepted";
  } catch (const RuntimeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("face_recognition_model-weights_manifest.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("conv64_2/conv1/scale/weights"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing:"), std::string::npos) << msg;
  }
  TempDir empty;
  try {
    FaceEmbedder e(empty.str());
    FAIL() << "a folder without models was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("fetch_face_models.sh"), std::string::npos) << e.what();
  }
}

TEST(FaceApiInput, PadsCentredThenResizesWithTfLegacyBilinear) {
  // A 1x3 white row: centred padding to 3x3 puts it in the middle row (Math.round(2/2) = 1 after).
  const uint8_t row[9] = {255, 255, 255, 255, 255, 255, 255, 255, 255};
  FaceApiInput in;
  in.size = 3;
  in.mean[0] = in.mean[1] = in.mean[2] = 0;
  in.divisor = 1;
  std::vector<float> out(27);
  face_api_preprocess(row, 1, 3, in, out.data());
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 9), (std::vector<float>{0, 0, 0, 255, 255, 255, 0, 0, 0}));
  in.centered = false;  // detectors: all padding after
  face_api_preprocess(row, 1, 3, in, out.data());
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 9), (std::vector<float>{255, 255, 255, 0, 0, 0, 0, 0, 0}));
  // 2x2 -> 4x4 without half-pixel centres: src = dst * 0.5, so row/col 1 blends 0 and 1, row 3 clamps.
  const uint8_t sq[12] = {0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40};
  in.size = 4;
  out.assign(3 * 4 * 4, -1.0f);
  face_api_preprocess(sq, 2, 2, in, out.data());
  EXPECT_FLOAT_EQ(out[0], 0);      // (0,0)
  EXPECT_FLOAT_EQ(out[1], 50);     // (0,0.5)
  EXPECT_FLOAT_EQ(out[2], 100);    // (0,1)
  EXPECT_FLOAT_EQ(out[3], 100);    // (0,1.5) clamps to column 1
  EXPECT_FLOAT_EQ(out[4], 100);    // (0.5,0) = (0 + 200) / 2
  EXPECT_FLOAT_EQ(out[5], 85);     // (0.5,0.5) = mean of 0, 100, 200, 40
  EXPECT_FLOAT_EQ(out[15], 40);    // (1.5,1.5) clamps to (1,1)
}

TEST(FaceApiInput, FitResizesWithoutTheSquareAndPadsBottomRightWithZeros) {
  // 2x2 -> 4x4 fitted into a 5x6 canvas: the same TF legacy samples as the square path, zeros elsewhere.
  const uint8_t sq[12] = {0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40};
  FaceApiInput in;
  in.size = 4;
  in.centered = false;
  in.mean[0] = in.mean[1] = in.mean[2] = 10;
  in.divisor = 2;
  std::vector<float> square(3 * 4 * 4), fit(3 * 5 * 6, -7.0f);
  face_api_preprocess(sq, 2, 2, in, square.data());
  face_api_preprocess_fit(sq, 2, 2, 4, 4, 5, 6, in, fit.data());
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 5; ++y) {
      for (int x = 0; x < 6; ++x) {
        const float got = fit[(c * 5 + y) * 6 + x];
        const float want = y < 4 && x < 4 ? square[(c * 4 + y) * 4 + x] : (0 - 10) / 2.0f;
        EXPECT_FLOAT_EQ(got, want) << c << " " << y << " " << x;
      }
    }
  }
  // Non-square: 1x3 -> 2x6 (each axis its own ratio), no padding.
  const uint8_t row[9] = {0, 0, 0, 90, 90, 90, 30, 30, 30};
  in.mean[0] = in.mean[1] = in.mean[2] = 0;
  in.divisor = 1;
  std::vector<float> wide(3 * 2 * 6);
  face_api_preprocess_fit(row, 1, 3, 2, 6, 2, 6, in, wide.data());
  EXPECT_EQ(std::vector<float>(wide.begin(), wide.begin() + 6), (std::vector<float>{0, 45, 90, 60, 30, 30}));
  EXPECT_EQ(std::vector<float>(wide.begin() + 6, wide.begin() + 12), (std::vector<float>{0, 45, 90, 60, 30, 30}));
}

// face_resnet as a trainable backbone: `model.pretrained` at a face models folder loads face-api's weights
// into its features and records face-api's mean subtraction as the input normalisation.
TEST(FaceResNet, TrainsFromFaceApiWeightsAsABackbone) {
  TempDir tmp;
  write_random_face_models(tmp.path() / "models");
  write_prepared_dataset(tmp.path() / "data", 40, 112);
  const auto cfg = [&](const std::string& name, const std::string& arch) {
    return resolve_config_tree("", {"data.prepared=" + nlohmann::json(tmp.str("data")).dump(), "data.size=112",
                                    "model.arch=" + arch, "model.pretrained=" + nlohmann::json(tmp.str("models")).dump(),
                                    "model.trainable_conv_layers=2", "train.epochs=1", "train.batch_size=16",
                                    "train.threads=2", "name=" + name, "output.dir=" + nlohmann::json(tmp.str("runs")).dump()});
  };
  const TrainResult r = train_config(cfg("face", "face_resnet"));
  const LoadedModel m = load_trained_model(r.run_dir);
  EXPECT_NEAR(m.input.norm.mean[0], 122.782 / 255, 1e-6);
  EXPECT_FLOAT_EQ(m.input.norm.std[2], 1.0f);
  // The frozen stem kept face-api's weights.
  FaceResNet source;
  load_face_resnet_tfjs(*source, read_tfjs_weights(tmp.str("models/face_recognition_model-weights_manifest.json")));
  const auto trained = m.model->named_parameters(true);
  EXPECT_TRUE(torch::equal(trained["features.conv32_down.conv.weight"], source->named_parameters(true)["features.conv32_down.conv.weight"]));
  EXPECT_THROW(train_config(cfg("vgg", "vgg16")), UsageError);  // face-api weights fit face_resnet only
}
