// face-api's detectors and landmark nets ported to LibTorch, on weights the test writes from randomly
// initialised modules (no npm models needed): TF.js layout round trip, output shapes, TF 'same' padding,
// box decoding, both NMS variants, the mapping to pixels, and clear errors for missing weights.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "agegender/error.hpp"
#include "agegender/face_networks.hpp"
#include "agegender/tfjs_weights.hpp"
#include "model/face_landmarks.hpp"
#include "model/ssd_mobilenet.hpp"
#include "model/tfjs_torch.hpp"
#include "model/tf_layers.hpp"
#include "model/tiny_face_detector.hpp"
#include "test_util.hpp"

using namespace agegender;
using namespace agegender::test;

namespace {

// torch parameter name -> the TF.js tensor name face-api's manifests use.
std::string tf_name(const std::string& torch_name) {
  std::string n = torch_name;
  for (char& c : n) c = c == '.' ? '/' : c;
  const auto slash = n.rfind('/');
  const std::string stem = n.substr(0, slash + 1), leaf = n.substr(slash + 1);
  const bool ssd_or_fc = n.rfind("MobilenetV1/", 0) == 0 || n.rfind("Prediction/", 0) == 0 || n.rfind("fc/", 0) == 0;
  if (leaf == "weight") return stem + (ssd_or_fc ? "weights" : "filters");
  if (leaf == "bias") return stem + (n.find("BoxPredictor_") != std::string::npos ? "biases" : "bias");
  return n;
}

// Writes `module`'s parameters in TF layouts as MODEL-weights_manifest.json + MODEL.bin (all but `drop`),
// plus an int32 and a float graph constant when `dead_constants` (as the SSD manifest has).
void write_tfjs(torch::nn::Module& module, const fs::path& dir, const std::string& model, const std::string& drop = "",
                bool dead_constants = false) {
  using nlohmann::json;
  json weights = json::array();
  std::string bin;
  for (const auto& p : module.named_parameters(true)) {
    const std::string name = tf_name(p.key());
    if (name == drop) continue;
    torch::Tensor t = p.value().detach();
    const std::string leaf = name.substr(name.rfind('/') + 1);
    if (t.dim() == 4) t = leaf.rfind("depthwise_", 0) == 0 ? t.permute({2, 3, 0, 1}) : t.permute({2, 3, 1, 0});
    if (t.dim() == 2) t = t.t();
    t = t.contiguous();
    weights.push_back({{"name", name}, {"shape", t.sizes().vec()}, {"dtype", "float32"}});
    bin.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * 4);
  }
  if (dead_constants) {
    const float mul = 0.0078431f;
    const int32_t size[2] = {512, 512};
    weights.push_back({{"name", "Preprocessor/mul/x"}, {"shape", json::array()}, {"dtype", "float32"}});
    bin.append(reinterpret_cast<const char*>(&mul), 4);
    weights.push_back({{"name", "Preprocessor/ResizeImage/size"}, {"shape", {2}}, {"dtype", "int32"}});
    bin.append(reinterpret_cast<const char*>(size), 8);
  }
  fs::create_directories(dir);
  write_file(dir / (model + ".bin"), bin);
  write_file(dir / (model + "-weights_manifest.json"), json::array({{{"paths", {model + ".bin"}}, {"weights", weights}}}).dump());
}

void randomise(torch::nn::Module& m, uint64_t seed, double std = 0.1) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.normal_(0, std);
}

void expect_same_parameters(torch::nn::Module& a, torch::nn::Module& b) {
  const auto pa = a.named_parameters(true), pb = b.named_parameters(true);
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
}

std::vector<uint8_t> noise_image(int h, int w, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::vector<uint8_t> px(static_cast<size_t>(h) * w * 3);
  for (auto& v : px) v = static_cast<uint8_t>(rng() % 256);
  return px;
}

// Every face scores above the threshold and they come best first, as face-api returns them.
void expect_above_and_best_first(const std::vector<FaceBox>& faces, float min_score) {
  for (size_t i = 0; i < faces.size(); ++i) {
    EXPECT_GT(faces[i].score, min_score);
    if (i) EXPECT_GE(faces[i - 1].score, faces[i].score);
  }
}

// The same faces, boxes within 0.01 px and scores within 1e-5, in the same order; at least one.
void expect_same_faces(const std::vector<FaceBox>& a, const std::vector<FaceBox>& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i].x, b[i].x, 1e-2) << i;
    EXPECT_NEAR(a[i].y, b[i].y, 1e-2) << i;
    EXPECT_NEAR(a[i].w, b[i].w, 1e-2) << i;
    EXPECT_NEAR(a[i].h, b[i].h, 1e-2) << i;
    EXPECT_NEAR(a[i].score, b[i].score, 1e-5) << i;
  }
}

// `source`'s weights as face-api's `model`: on a `square` px noise image (no padding or resize either way)
// the detector fitted to `square` gives the same faces as face-api's square input of that side; returns
// what the detector fitted to `side` finds on an h x w noise frame (checked above the score, best first).
std::vector<FaceBox> check_fitted_input(torch::nn::Module& source, const std::string& model, FaceDetectorNet::Kind kind,
                                        FaceDetectorOptions opt, int square, int side, int h, int w) {
  TempDir tmp;
  write_tfjs(source, tmp.path(), model);
  FaceDetectorNet face_api(kind, tmp.str(), opt);
  opt.fit_side = square;
  FaceDetectorNet fitted(kind, tmp.str(), opt);
  const auto image = noise_image(square, square, 8);
  expect_same_faces(face_api.detect({image.data(), square, square}), fitted.detect({image.data(), square, square}));
  opt.fit_side = side;
  FaceDetectorNet wide(kind, tmp.str(), opt);
  const auto frame = noise_image(h, w, 7);
  const auto faces = wide.detect({frame.data(), h, w});
  expect_above_and_best_first(faces, opt.min_score);
  return faces;
}

}  // namespace

TEST(FaceNetworks, TfSamePaddingPutsTheOddPixelAfter) {
  using Pads = std::pair<int64_t, int64_t>;
  EXPECT_EQ(tf_same_pads(512, 3, 2), Pads(0, 1));
  EXPECT_EQ(tf_same_pads(5, 3, 2), Pads(1, 1));
  EXPECT_EQ(tf_same_pads(16, 3, 1), Pads(1, 1));
  EXPECT_EQ(tf_same_pads(16, 1, 2), Pads(0, 0));
  EXPECT_EQ(tf_same_pads(207, 2, 2), Pads(0, 1));
  EXPECT_EQ(tf_same_pads(13, 2, 1), Pads(0, 1));
  EXPECT_EQ(tf_same_pads(2, 3, 2), Pads(0, 1));

  // 3x3/2 'same' on a 4x4 map of ones: the first window sees 9 pixels (no padding before), the last 4.
  TfConv conv(1, 1, 3, 2, TfPadding::Same);
  torch::NoGradGuard no_grad;
  conv->weight.fill_(1);
  conv->bias.zero_();
  const auto y = conv->forward(torch::ones({1, 1, 4, 4}));
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_FLOAT_EQ(y[0][0][0][0].item<float>(), 9);
  EXPECT_FLOAT_EQ(y[0][0][1][1].item<float>(), 4);
  // Max-pool padding never wins: a negative map stays negative at the padded edge.
  const auto p = tf_max_pool_same(-torch::ones({1, 1, 3, 3}), 2, 1);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{1, 1, 3, 3}));
  EXPECT_FLOAT_EQ(p.max().item<float>(), -1);
  EXPECT_EQ(tf_max_pool_same(torch::zeros({1, 1, 207, 207}), 2, 2).size(2), 104);
}

TEST(FaceNetworks, SsdDepthwiseFoldsBatchNormExactlyEnough) {
  SsdDepthwise layer(8, 2);
  randomise(*layer, 10, 0.5);
  torch::NoGradGuard no_grad;
  layer->BatchNorm->moving_variance.abs_();
  const auto x = torch::randn({1, 8, 10, 10});
  // Reference: TF 'same' stride 2 on an even size = pad 0 before / 1 after, conv, BatchNorm, ReLU6.
  const auto conv = torch::nn::functional::conv2d(tf_same_pad(x, 3, 2), layer->depthwise_weights,
                                                  torch::nn::functional::Conv2dFuncOptions().stride(2).groups(8));
  const auto want = torch::clamp(layer->BatchNorm->forward(conv), 0, 6);
  const auto got = layer->forward(x);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{1, 8, 5, 5}));
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(layer->forward(x.contiguous(torch::MemoryFormat::ChannelsLast)), want, 1e-5, 1e-5));
}

TEST(FaceNetworks, SsdLoadsTfjsLayoutsAndDetects) {
  SsdMobilenetV1 source;
  randomise(*source, 11, 0.05);
  {
    torch::NoGradGuard no_grad;
    // Plausible anchors (ymin, xmin, ymax, xmax) and non-negative variances.
    const auto c = torch::rand({kSsdBoxes, 2}), s = torch::rand({kSsdBoxes, 2}) * 0.3 + 0.05;
    source->extra_dim.copy_(torch::cat({c - s / 2, c + s / 2}, 1).view({1, kSsdBoxes, 4}));
    for (const auto& p : source->named_parameters(true)) {
      if (p.key().find("moving_variance") != std::string::npos) p.value().abs_();
    }
  }
  TempDir tmp;
  write_tfjs(*source, tmp.path(), "ssd_mobilenetv1_model", "", /*dead_constants=*/true);
  SsdMobilenetV1 loaded;
  load_ssd_mobilenet_tfjs(*loaded, read_tfjs_weights(tmp.str("ssd_mobilenetv1_model-weights_manifest.json")));
  expect_same_parameters(*source, *loaded);

  torch::NoGradGuard no_grad;
  source->eval(), loaded->eval();
  const auto x = torch::rand({1, 3, kSsdInput, kSsdInput}) * 2 - 1;
  const SsdRawOutput a = loaded->forward(x), b = source->forward(x);
  EXPECT_EQ(a.box_encodings.sizes(), (std::vector<int64_t>{1, kSsdBoxes, 4}));
  EXPECT_EQ(a.class_logits.sizes(), (std::vector<int64_t>{1, kSsdBoxes, 3}));
  EXPECT_TRUE(torch::equal(a.box_encodings, b.box_encodings));

  FaceDetectorOptions opt;
  opt.min_score = 0.01f;
  opt.max_results = 7;
  FaceDetectorNet det(FaceDetectorNet::Kind::Ssd, tmp.str(), opt);
  const auto px = noise_image(90, 130, 3);
  const auto faces = det.detect({px.data(), 90, 130});
  EXPECT_LE(faces.size(), 7u);
  expect_above_and_best_first(faces, 0.01f);
  for (const auto& f : faces) {
    EXPECT_GE(f.w, 0);
    EXPECT_GE(f.x, 0);
  }
}

// bench_train_detector's way of saving a tuned detector: the parameters back into the manifest they came
// from (graph constants kept), written as TF.js, read by the same loader as face-api's file.
TEST(FaceNetworks, SsdParametersStoreBackIntoTfjsAndReload) {
  SsdMobilenetV1 source;
  randomise(*source, 12, 0.05);
  TempDir tmp;
  write_tfjs(*source, tmp.path() / "a", "ssd_mobilenetv1_model", "", /*dead_constants=*/true);
  TfjsWeights weights = read_tfjs_weights(tmp.str("a/ssd_mobilenetv1_model-weights_manifest.json"));
  SsdMobilenetV1 tuned;
  load_ssd_mobilenet_tfjs(*tuned, weights);
  randomise(*tuned, 13, 0.05);  // what training would change
  store_tfjs_parameters(*tuned, weights, "", {"Output.extra_dim"});
  fs::create_directories(tmp.path() / "b");
  write_tfjs_weights(weights, tmp.str("b/ssd_mobilenetv1_model-weights_manifest.json"));
  const TfjsWeights back = read_tfjs_weights(tmp.str("b/ssd_mobilenetv1_model-weights_manifest.json"));
  ASSERT_NE(back.find("Preprocessor/ResizeImage/size"), nullptr);
  EXPECT_EQ(back.find("Preprocessor/ResizeImage/size")->ints, (std::vector<int32_t>{512, 512}));
  SsdMobilenetV1 reloaded;
  load_ssd_mobilenet_tfjs(*reloaded, back);
  expect_same_parameters(*tuned, *reloaded);

  TfjsWeights missing = weights;  // a parameter with no tensor to go to is named
  missing.tensors.erase(missing.tensors.begin());
  try {
    store_tfjs_parameters(*tuned, missing, "", {"Output.extra_dim"});
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("MobilenetV1.Conv2d_0_pointwise"), std::string::npos) << e.what();
  }
}

TEST(FaceNetworks, TinyDetectorLoadsTfjsLayoutsAndDetects) {
  TinyFaceDetector source;
  randomise(*source, 12);
  TempDir tmp;
  write_tfjs(*source, tmp.path(), "tiny_face_detector_model");
  TinyFaceDetector loaded;
  load_tiny_face_detector_tfjs(*loaded, read_tfjs_weights(tmp.str("tiny_face_detector_model-weights_manifest.json")));
  expect_same_parameters(*source, *loaded);

  torch::NoGradGuard no_grad;
  EXPECT_EQ(loaded->forward(torch::randn({1, 3, 224, 224})).sizes(), (std::vector<int64_t>{1, 25, 7, 7}));
  const auto x = torch::randn({2, 3, 64, 64});
  const auto y = loaded->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 25, 2, 2}));
  EXPECT_TRUE(torch::equal(y, source->forward(x)));

  FaceDetectorOptions opt;
  opt.input_size = 128;
  opt.min_score = 0.05f;
  FaceDetectorNet det(FaceDetectorNet::Kind::Tiny, tmp.str(), opt);
  const auto px = noise_image(70, 50, 4);
  const auto faces = det.detect({px.data(), 70, 50});
  expect_above_and_best_first(faces, 0.05f);
  opt.input_size = 100;
  EXPECT_THROW(FaceDetectorNet(FaceDetectorNet::Kind::Tiny, tmp.str(), opt), UsageError);
}

TEST(FaceNetworks, TinyFittedInputMatchesFaceApisOnASquareAndGridsAnyShape) {
  TinyFaceDetector source;
  randomise(*source, 13);
  FaceDetectorOptions opt;
  opt.input_size = 160;
  opt.min_score = 0.05f;
  // 90 x 300 at 256: a 3 x 8 grid (77 x 256 padded to 96 x 256); faces map back by each axis' scale.
  for (const auto& f : check_fitted_input(*source, "tiny_face_detector_model", FaceDetectorNet::Kind::Tiny, opt, 160, 256, 90, 300)) {
    EXPECT_GT(f.x + f.w, 0);
    EXPECT_LT(f.x, 300 * 1.5);
    EXPECT_LT(f.y, 90 * 1.5);
  }
}

TEST(FaceNetworks, LandmarkNetsLoadTfjsLayoutsAndGive68Points) {
  for (const bool tiny : {false, true}) {
    SCOPED_TRACE(tiny ? "tiny" : "full");
    FaceLandmarkNet source(tiny);
    randomise(*source, 13, 0.05);
    TempDir tmp;
    const std::string model = tiny ? "face_landmark_68_tiny_model" : "face_landmark_68_model";
    write_tfjs(*source, tmp.path(), model);
    FaceLandmarkNet loaded(tiny);
    load_face_landmarks_tfjs(*loaded, read_tfjs_weights(tmp.str(model + "-weights_manifest.json")));
    expect_same_parameters(*source, *loaded);
    EXPECT_EQ(loaded->named_parameters(true).size(), tiny ? 28u : 49u);
    {
      torch::NoGradGuard no_grad;
      const auto x = torch::randn({2, 3, kLandmarkInput, kLandmarkInput});
      const auto y = loaded->forward(x);
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 136}));
      EXPECT_TRUE(torch::equal(y, source->forward(x)));
    }
    LandmarkNet net(tiny, tmp.str());
    const auto a = noise_image(60, 40, 5), b = noise_image(30, 30, 6);
    const auto pts = net.landmarks(std::vector<RgbView>{{a.data(), 60, 40}, {b.data(), 30, 30}});
    ASSERT_EQ(pts.size(), 2u);
    EXPECT_EQ(pts[0].size(), 68u);
    const auto single = net.landmarks(RgbView{b.data(), 30, 30});
    ASSERT_EQ(single.size(), 68u);
    for (size_t i = 0; i < 68; ++i) EXPECT_NEAR(single[i][0], pts[1][i][0], 1e-3);
  }
}

TEST(FaceNetworks, SsdNmsSuppressesAboveThresholdInScoreOrder) {
  // (ymin, xmin, ymax, xmax)
  const std::vector<float> boxes = {
      0, 0, 1, 1,        // 0: score .9
      0, 0, 1, 0.5f,     // 1: IoU with 0 exactly 0.5 -> kept (suppression needs > 0.5)
      0, 0, 1, 0.9f,     // 2: IoU .9 with 0 -> suppressed
      2, 2, 3, 3,        // 3: disjoint, best score
      0, 0, 1, 1,        // 4: below min score
      1, 1, 0, 0,        // 5: box 0 with swapped corners -> suppressed by 0
      0.2f, 0.2f, 0.2f, 0.6f,  // 6: zero area -> IoU 0, kept
  };
  const std::vector<float> scores = {0.9f, 0.8f, 0.85f, 0.95f, 0.4f, 0.7f, 0.6f};
  EXPECT_EQ(ssd_nms(boxes.data(), scores.data(), 7, 100, 0.5f, 0.5f), (std::vector<int64_t>{3, 0, 1, 6}));
  EXPECT_EQ(ssd_nms(boxes.data(), scores.data(), 7, 2, 0.5f, 0.5f), (std::vector<int64_t>{3, 0}));
  EXPECT_EQ(ssd_nms(boxes.data(), scores.data(), 7, 100, 0.95f, 0.5f), (std::vector<int64_t>{3, 0, 2, 1, 6}));
  EXPECT_TRUE(ssd_nms(boxes.data(), scores.data(), 7, 100, 0.5f, 0.99f).empty());
}

TEST(FaceNetworks, TinyNmsSuppressesAboveThresholdBestFirst) {
  std::vector<TinyBox> boxes = {
      {0, 0, 1, 1, 0.7f},         // 0
      {0, 0, 1, 2.0 / 3, 0.9f},   // 1: IoU 2/3 with 0
      {0.5, 0, 1, 1, 0.6f},       // 2: IoU 1/3 with 0, 0.25 with 1 -> kept
      {5, 5, 1, 1, 0.9f},         // 3: disjoint, same score as 1 -> taken first (later index wins ties)
  };
  EXPECT_EQ(tiny_nms(boxes, 0.4f, 416), (std::vector<size_t>{3, 1, 2}));
  EXPECT_EQ(tiny_nms(boxes, 0.7f, 416), (std::vector<size_t>{3, 1, 0, 2}));
}

TEST(FaceNetworks, SsdDecodesAnchorsAndMapsToPixelsLikeFaceApi) {
  const auto anchor = torch::tensor({0.2f, 0.3f, 0.6f, 0.5f}).view({1, 4});  // centre (.4, .4), size (.4, .2)
  const auto enc = torch::tensor({1.0f, -2.0f, static_cast<float>(5 * std::log(2.0)), 0.0f}).view({1, 4});
  const auto box = ssd_decode_boxes(anchor, enc);
  const std::vector<float> want = {0.04f, 0.26f, 0.84f, 0.46f};  // cy .44, cx .36, h .8, w .2
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(box[0][i].item<float>(), want[i], 1e-6) << i;

  // 200x100 image -> reshaped 512x256: the normalised box covers the padded square, so y is scaled by 2
  // and a box past the image's bottom is clipped at the square's edge (1.0), not at the image's.
  const float b[4] = {-0.1f, 0.25f, 0.6f, 1.2f};
  const FaceBox f = ssd_box_to_pixels(b, 0.8f, 100, 200);
  EXPECT_NEAR(f.x, 50, 1e-4);
  EXPECT_NEAR(f.y, 0, 1e-4);
  EXPECT_NEAR(f.w, 150, 1e-4);
  EXPECT_NEAR(f.h, 120, 1e-4);
  EXPECT_FLOAT_EQ(f.score, 0.8f);
}

namespace {

// Anchors laid out as TF's grid generator lays them out for face-api's 512 px SSD: per level (32, 16, 8, 4,
// 2, 1 cells; 3 then 6 shapes per cell) the same shapes in every cell, centred at (i + 0.5) / cells.
torch::Tensor tf_grid_anchors() {
  std::vector<float> a;
  const int64_t per_cell[6] = {3, 6, 6, 6, 6, 6};
  for (int k = 0; k < 6; ++k) {
    const int cells = 32 >> k;
    for (int y = 0; y < cells; ++y) {
      for (int x = 0; x < cells; ++x) {
        for (int64_t s = 0; s < per_cell[k]; ++s) {
          const float h = 0.1f * (k + 1) * (1 + 0.1f * s), w = 0.1f * (k + 1) / (1 + 0.2f * s);
          const float cy = (y + 0.5f) / cells, cx = (x + 0.5f) / cells;
          for (const float v : {cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2}) a.push_back(v);
        }
      }
    }
  }
  return torch::from_blob(a.data(), {kSsdBoxes, 4}, torch::kFloat).clone();
}

const std::vector<std::array<int64_t, 2>> kSquareMaps = {{32, 32}, {16, 16}, {8, 8}, {4, 4}, {2, 2}, {1, 1}};

}  // namespace

TEST(FaceNetworks, SsdAnchorsForAnyInputKeepTheTrainedShapesInPixels) {
  const torch::Tensor stored = tf_grid_anchors();
  // At face-api's 512 square they are the stored anchors in pixels.
  EXPECT_TRUE(torch::allclose(ssd_anchors_for(stored, kSquareMaps, 512, 512), stored * 512, 1e-5, 1e-3));
  // 384 x 640 (maps as the network gives them): same shapes in pixels, centres on the new grid.
  const std::vector<std::array<int64_t, 2>> maps = {{24, 40}, {12, 20}, {6, 10}, {3, 5}, {2, 3}, {1, 2}};
  const torch::Tensor a = ssd_anchors_for(stored, maps, 384, 640);
  ASSERT_EQ(a.size(0), 24 * 40 * 3 + 6 * (12 * 20 + 6 * 10 + 3 * 5 + 2 * 3 + 1 * 2));
  const auto size = [](const torch::Tensor& t, int64_t i) { return std::array<float, 2>{t[i][2].item<float>() - t[i][0].item<float>(), t[i][3].item<float>() - t[i][1].item<float>()}; };
  for (const int64_t i : {0, 1, 2}) {  // first cell of the finest level: its shapes, centre (8, 8)
    EXPECT_NEAR(size(a, i)[0], size(stored, i)[0] * 512, 1e-3);
    EXPECT_NEAR(size(a, i)[1], size(stored, i)[1] * 512, 1e-3);
    EXPECT_NEAR((a[i][0] + a[i][2]).item<float>() / 2, 8, 1e-4);
  }
  const int64_t last_fine = 24 * 40 * 3 - 1;  // cell (23, 39)
  EXPECT_NEAR((a[last_fine][1] + a[last_fine][3]).item<float>() / 2, 39.5 * 16, 1e-3);
  const int64_t second_level = 24 * 40 * 3 + (1 * 20 + 2) * 6 + 4;  // level 1, cell (1, 2), shape 4
  EXPECT_NEAR((a[second_level][0] + a[second_level][2]).item<float>() / 2, 1.5 * 32, 1e-3);
  EXPECT_NEAR(size(a, second_level)[1], size(stored, 3072 + 4)[1] * 512, 1e-3);
  const int64_t coarsest = a.size(0) - 1;  // 1 x 2 cells over 384 x 640: centre (192, 480)
  EXPECT_NEAR((a[coarsest][1] + a[coarsest][3]).item<float>() / 2, 480, 1e-3);
}

TEST(FaceNetworks, SsdFittedInputMatchesFaceApisOnASquareAndStaysInsideOtherImages) {
  SsdMobilenetV1 source;
  randomise(*source, 5, 0.05);
  {
    torch::NoGradGuard no_grad;
    source->extra_dim.copy_(tf_grid_anchors().view({1, kSsdBoxes, 4}));
    for (const auto& p : source->named_parameters(true)) {
      if (p.key().find("moving_variance") != std::string::npos) p.value().abs_();
    }
  }
  FaceDetectorOptions opt;
  opt.min_score = 0.05f;
  opt.max_results = 20;
  // A wide frame at another side: boxes inside the image.
  for (const auto& f : check_fitted_input(*source, "ssd_mobilenetv1_model", FaceDetectorNet::Kind::Ssd, opt, 512, 320, 120, 300)) {
    EXPECT_GE(f.x, 0);
    EXPECT_GE(f.y, 0);
    EXPECT_LE(f.x + f.w, 300 + 1e-3);
    EXPECT_LE(f.y + f.h, 120 + 1e-3);
  }
  opt.fit_side = 500;  // not a multiple of 32 (checked before the weights are read)
  EXPECT_THROW(FaceDetectorNet(FaceDetectorNet::Kind::Ssd, "no-models-here", opt), UsageError);
}

TEST(FaceNetworks, TinyDecodesGridCellsWithAnchors) {
  // G = 2, input 64, image 64 high x 32 wide -> reshaped 32x64: x correction 2, y correction 1.
  std::vector<float> grid(2 * 2 * 25, 0.0f);
  for (int cell = 0; cell < 4; ++cell) {
    for (int a = 0; a < 5; ++a) grid[cell * 25 + a * 5 + 4] = -20;  // objectness off
  }
  const int row = 1, col = 0, a = 1;
  grid[(row * 2 + col) * 25 + a * 5 + 4] = 3;  // sigmoid(3) = 0.9526
  const auto boxes = tiny_decode(grid.data(), 2, 64, 64, 32, 0.5f);
  ASSERT_EQ(boxes.size(), 1u);
  const double w = kTinyAnchorSizes[a][0] / 2 * 2, h = kTinyAnchorSizes[a][1] / 2 * 1;
  EXPECT_NEAR(boxes[0].x, 0.5 - w / 2, 1e-9);
  EXPECT_NEAR(boxes[0].y, 0.75 - h / 2, 1e-9);
  EXPECT_NEAR(boxes[0].w, w, 1e-9);
  EXPECT_NEAR(boxes[0].h, h, 1e-9);
  EXPECT_NEAR(boxes[0].score, 1 / (1 + std::exp(-3.0)), 1e-6);
}

TEST(FaceNetworks, LandmarksMapBackThroughTheCentredPadding) {
  // 50 wide x 100 high -> 56x112 inside the 112 square, 28 px padding left and right.
  std::vector<float> raw(136, 0.0f);
  raw[0] = 0.5f, raw[1] = 0.25f;   // centre column, a quarter down
  raw[2] = 0.25f, raw[3] = 1.0f;   // on the left padding edge, bottom
  const auto pts = landmarks_to_pixels(raw.data(), 100, 50);
  EXPECT_NEAR(pts[0][0], 25, 1e-4);
  EXPECT_NEAR(pts[0][1], 25, 1e-4);
  EXPECT_NEAR(pts[1][0], 0, 1e-4);
  EXPECT_NEAR(pts[1][1], 100, 1e-4);
}

TEST(FaceNetworks, MissingModelsOrTensorsAreClearErrors) {
  TempDir tmp;
  try {
    FaceDetectorNet det(FaceDetectorNet::Kind::Ssd, tmp.str("nowhere"));
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("fetch_face_models.sh"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LandmarkNet(true, tmp.str("nowhere")), UsageError);

  TinyFaceDetector tiny;
  write_tfjs(*tiny, tmp.path(), "tiny_face_detector_model", /*drop=*/"conv3/bias");
  try {
    FaceDetectorNet det(FaceDetectorNet::Kind::Tiny, tmp.str());
    FAIL() << "no error";
  } catch (const RuntimeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("tiny_face_detector_model-weights_manifest.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("conv3/bias"), std::string::npos) << msg;
  }
  FaceLandmarkNet lm(false);
  write_tfjs(*lm, tmp.path(), "face_landmark_68_model", /*drop=*/"dense2/conv1/pointwise_filter");
  try {
    LandmarkNet net(false, tmp.str());
    FAIL() << "no error";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("dense2/conv1/pointwise_filter"), std::string::npos) << e.what();
  }
}
