// The "image -> model input" contract: stage 2 against LibTorch's own resize ops, metadata validation,
// and end to end: predict --detect none on JPEG crops gives what eval gives on the same crops prepared.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "agegender/config.hpp"
#include "agegender/error.hpp"
#include "agegender/preprocess.hpp"
#include "agegender/trainer.hpp"
#include "prepared_fixture.hpp"

#ifdef AGEGENDER_HAS_OPENCV
#include <opencv2/imgcodecs.hpp>

#include "agegender/predictor.hpp"
#include "agegender/prepare.hpp"
#include "fixtures.hpp"
#include "model/checkpoint.hpp"
#include "model/inference.hpp"
#endif

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;
namespace F = torch::nn::functional;

namespace {

// Runs stage 2 on a random HWC image and returns [C, s, s] float, plus the same image as [1, 3, S, S].
torch::Tensor stage2(const torch::Tensor& hwc, int s, int channels) {
  ModelInput in;
  in.size = s;
  in.source_size = static_cast<int>(hwc.size(0));
  in.channels = channels;
  std::vector<uint8_t> out(static_cast<size_t>(channels * s * s));
  source_to_model(hwc.contiguous().data_ptr<uint8_t>(), in, out.data());
  return torch::from_blob(out.data(), {channels, s, s}, torch::kUInt8).to(torch::kFloat).clone();
}

}  // namespace

TEST(Preprocess, ShrinkMatchesAdaptiveAveragePoolingAndEnlargeMatchesBilinear) {
  torch::manual_seed(3);
  for (int S : {48, 64, 128}) {
    const auto hwc = torch::randint(0, 256, {S, S, 3}).to(torch::kUInt8);
    const auto chw = hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat);
    for (int s : {32, 40, 64, 96, 150}) {
      torch::Tensor want;
      if (s < S) {
        want = F::adaptive_avg_pool2d(chw, F::AdaptiveAvgPool2dFuncOptions({s, s}));
      } else if (s > S) {
        want = F::interpolate(chw, F::InterpolateFuncOptions().size(std::vector<int64_t>{s, s}).mode(torch::kBilinear).align_corners(false));
      } else {
        want = chw;
      }
      want = want.round().clamp(0, 255)[0];
      const auto got = stage2(hwc, s, 3);
      // Equal up to one rounding step where float summation order differs (LibTorch's vectorised
      // bilinear multiplies the four weights out; shrinking, the common case, is nearly exact).
      EXPECT_LE((got - want).abs().max().item<float>(), 1.0f) << S << " -> " << s;
      EXPECT_LT((got - want).abs().gt(0).to(torch::kFloat).mean().item<float>(), s < S ? 0.01f : 0.05f) << S << " -> " << s;
    }
  }
}

TEST(Preprocess, GrayIsLumaOfRgbBeforeResizing) {
  const auto hwc = torch::randint(0, 256, {8, 8, 3}).to(torch::kUInt8);
  const auto f = hwc.to(torch::kFloat);
  const auto luma = (f.select(2, 0) * 0.299 + f.select(2, 1) * 0.587 + f.select(2, 2) * 0.114);
  const auto want = luma.view({1, 1, 8, 8}).view({1, 1, 4, 2, 4, 2}).mean({3, 5}).round()[0];
  EXPECT_LE((stage2(hwc, 4, 1) - want).abs().max().item<float>(), 1.0f);
}

TEST(Preprocess, NormalizeIsPerChannel) {
  ModelInput in;
  in.size = 1;
  in.norm = {{0.5f, 0.0f, 1.0f}, {0.25f, 1.0f, 0.5f}};
  const uint8_t px[3] = {255, 51, 0};
  float out[3];
  normalize_pixels(px, in, out);
  EXPECT_FLOAT_EQ(out[0], 2.0f);
  EXPECT_FLOAT_EQ(out[1], 0.2f);
  EXPECT_FLOAT_EQ(out[2], -2.0f);
}

TEST(Preprocess, MetadataIsValidatedFieldByField) {
  const json good = ModelInput().to_json();
  EXPECT_NO_THROW(ModelInput::from_json(good, "ck.safetensors"));
  const auto rejects = [&](const char* key, const json& value, const std::string& needle) {
    json j = good;
    j[key] = value;
    try {
      ModelInput::from_json(j, "ck.safetensors");
      ADD_FAILURE() << key << " = " << value.dump() << " was accepted";
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("ck.safetensors"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  rejects("size", 0, "size 0");
  rejects("size", 100000, "size 100000");
  rejects("channels", 2, "channels 2");
  rejects("mean", json::array(), "one mean and one std per channel");
  rejects("std", {0.25, 0.0, 0.25}, "std[1]");
  rejects("std", {0.25, -1, 0.25}, "std[1]");
  rejects("crop", "stretch", "not supported");
  rejects("size", "big", "bad input metadata");
}

#ifdef AGEGENDER_HAS_OPENCV
// The acceptance test: the same JPEG crops through `predict --detect none` and through
// `prepare --split 0,0,1` + the eval path give the same probabilities (max |diff| <= 1e-4, within the
// CSV's 4 decimals) and the same accuracy. Non-square crops and a 48 -> 32 px resize included.
TEST(Preprocess, PredictOnCropsMatchesEvalOnTheSamePreparedCrops) {
  TempDir tmp;
  write_prepared_dataset(tmp.path() / "train_data", 160, 48);
  TrainRequest req;
  req.quiet = true;
  req.config = resolve_config_tree("", {"data.prepared=" + json(tmp.str("train_data")).dump(), "data.size=32",
                                        "train.epochs=1", "train.threads=2", "name=m", "output.dir=" + json(tmp.str("runs")).dump()});
  const std::string run = train(req).run_dir;

  const fs::path crops = tmp.path() / "crops";
  fs::create_directories(crops);
  std::map<std::string, int> truth_gender;
  for (int i = 0; i < 24; ++i) {
    const int age = (i * 29) % 91, gender = i % 2;
    cv::Mat face = synthetic_face(age, gender, static_cast<unsigned>(i), 60);
    if (i % 3 == 1) face = face(cv::Rect(0, 6, 60, 48)).clone();  // wider than tall
    if (i % 3 == 2) face = face(cv::Rect(8, 0, 44, 60)).clone();  // taller than wide
    const std::string name = utk_name(age, gender, i % 5, i);
    write_file(crops / name, encode_jpg(face));
    truth_gender[name] = gender;
  }
  PrepareOptions po;
  po.data = crops.string();
  po.out = tmp.str("crops_prepared");
  po.size = 48;
  po.split = SplitFractions::parse("0,0,1");
  po.quiet = true;
  prepare_dataset(po);

  // Eval's path: the prepared test split through the model's input contract.
  LoadedModel lm = load_trained_model(run);
  const PreparedDataset ds = PreparedDataset::open(po.out);
  const auto idx = ds.indices(Split::Test);
  ASSERT_EQ(idx.size(), 24u);
  ScoreOptions so;
  so.batch_size = 8;
  const PredictionSet p = predict_split(*lm.model, load_split(ds, idx, lm.binning), lm.input, lm.binning, so);
  const auto names = lm.binning.class_names();
  const size_t k = names.size();

  PredictOptions o;
  o.model = run;
  o.input = crops.string();
  o.out = tmp.str("pred.jsonl");
  o.format = "jsonl";
  o.detect = "none";
  o.batch = 5;
  o.quiet = true;
  run_predict(o);
  std::ifstream in(o.out);
  std::map<std::string, json> rows;
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    rows[fs::path(j["file"].get<std::string>()).filename().string()] = j;
  }
  ASSERT_EQ(rows.size(), 24u);

  double max_diff = 0;
  int eval_correct = 0, predict_correct = 0;
  for (size_t i = 0; i < idx.size(); ++i) {
    const auto& row = rows.at(ds.rows[idx[i]].file);
    const float* probs = &p.age_probs[i * k];
    const size_t best = static_cast<size_t>(std::max_element(probs, probs + k) - probs);
    EXPECT_EQ(row["age_group"], names[best]) << ds.rows[idx[i]].file;
    max_diff = std::max(max_diff, std::abs(row["age_prob"].get<double>() - probs[best]));
    const double female = p.female_prob[i];
    max_diff = std::max(max_diff, std::abs(row["gender_prob"].get<double>() - (female >= 0.5 ? female : 1 - female)));
    eval_correct += static_cast<int>(best) == p.true_class[i];
    predict_correct += row["age_group"] == names[static_cast<size_t>(p.true_class[i])];
  }
  std::cout << "[ info     ] predict vs eval on 24 crops: max |diff| " << max_diff << ", correct " << eval_correct << " / "
            << predict_correct << "\n";
  EXPECT_LE(max_diff, 1e-4);
  EXPECT_EQ(eval_correct, predict_correct);
}
#endif
