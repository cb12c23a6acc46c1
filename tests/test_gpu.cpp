// CUDA checks (CTest label `gpu`, run by scripts/gpu_check.sh on a GPU machine): a run trained on the GPU
// evaluates on the CPU to the same accuracy, bf16 learns like fp32, the captured CUDA-graph step computes
// what the eager step computes, and the GPU augmentation is the CPU loader's. Skipped without CUDA.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "agegender/evaluator.hpp"
#include "agegender/models.hpp"
#include "model/batch_loader.hpp"
#include "prepared_fixture.hpp"
#include "train/captured_step.hpp"
#include "train/foreach_adam.hpp"
#include "train/train_step.hpp"

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;

namespace {

#define REQUIRE_CUDA()                                                         \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: the gpu tests run on a GPU machine (scripts/gpu_check.sh)"

class Gpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_prepared_dataset(dir_->path() / "data", 800, 32);
  }
  static void TearDownTestSuite() { delete dir_; }
  static json config(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> o = {"data.prepared=" + json(dir_->str("data")).dump(), "data.size=32", "train.epochs=4",
                                  "train.batch_size=32", "train.lr=0.003", "train.early_stopping.patience=0",
                                  "train.device=\"cuda\"", "name=" + name, "output.dir=" + json(dir_->str("runs")).dump()};
    o.insert(o.end(), extra.begin(), extra.end());
    return resolve_config_tree("", o);
  }
  static std::vector<double> train_losses(const TrainResult& r) {
    std::vector<double> out;
    std::stringstream ss(read_file(fs::path(r.run_dir) / "metrics.csv"));
    std::string line;
    std::getline(ss, line);
    while (std::getline(ss, line)) out.push_back(std::stod(line.substr(line.find(',') + 1)));
    return out;
  }
  static TempDir* dir_;
};
TempDir* Gpu::dir_ = nullptr;

}  // namespace

TEST_F(Gpu, RunTrainedOnCudaEvaluatesOnCpuToTheSameAccuracy) {
  REQUIRE_CUDA();
  const auto r = train_config(config("cuda_bf16", {"train.amp=\"bf16\"", "train.channels_last=true"}));
  ASSERT_TRUE(r.finished);
  EvalOptions eo;
  eo.run_dir = r.run_dir;
  eo.device = "cpu";
  eo.threads = 2;
  const EvalResult cpu = evaluate_run(eo);
  EXPECT_NEAR(cpu.eval["accuracy"].get<double>(), r.summary["test_acc"].get<double>(), 1e-4);
  EXPECT_NEAR(cpu.eval["gender_accuracy"].get<double>(), r.summary["test_gender_acc"].get<double>(), 1e-4);
  EXPECT_GT(r.summary["test_gender_acc"].get<double>(), 0.7);
}

TEST_F(Gpu, Bf16LossCurveFollowsFp32) {
  REQUIRE_CUDA();
  const auto fp32 = train_losses(train_config(config("cuda_fp32", {"train.amp=\"off\""})));
  const auto bf16 = train_losses(train_config(config("cuda_bf16_curve", {"train.amp=\"bf16\""})));
  ASSERT_EQ(fp32.size(), bf16.size());
  for (size_t e = 0; e < fp32.size(); ++e) {
    EXPECT_NEAR(bf16[e], fp32[e], 0.1 + 0.1 * fp32[e]) << "epoch " << e + 1;
  }
  EXPECT_LT(bf16.back(), bf16.front());
}

TEST_F(Gpu, Fp16WithLossScalingTrains) {
  REQUIRE_CUDA();
  const auto r = train_config(config("cuda_fp16", {"train.amp=\"fp16\""}));
  const auto loss = train_losses(r);
  EXPECT_LT(loss.back(), loss.front());
}

TEST(GpuStep, CapturedGraphStepComputesWhatTheEagerStepComputes) {
  REQUIRE_CUDA();
  if (!CapturedStep::available()) GTEST_SKIP() << "built without CUDA graphs (-DAGEGENDER_CUDA_GRAPHS=OFF)";
  ModelSpec spec;
  spec.arch = "base_cnn";
  spec.input_size = 32;
  spec.num_age_classes = 5;
  spec.dropout = 0;  // no random masks: the two runs must see the same arithmetic
  const HeadDecoder decoder(spec, AgeBinning({0, 20, 40, 60, 80}, "custom"));
  std::vector<std::vector<torch::Tensor>> weights;
  for (const bool graphs : {false, true}) {
    torch::manual_seed(9);
    FaceNet m = build_model(spec);
    m->to(torch::kCUDA);
    m->train();
    ForeachAdam opt(m->parameters(), torch::optim::AdamOptions(1e-3));
    StepSettings s;
    s.device = torch::kCUDA;
    s.cuda_graphs = graphs;
    TrainStep step(*m, opt, decoder, s);
    for (int i = 0; i < 8; ++i) {
      torch::manual_seed(100 + i);
      Batch b;
      b.age_class = torch::randint(0, 5, {16}).to(torch::kCUDA);
      b.age = torch::randint(0, 90, {16}).to(torch::kCUDA);
      b.gender = torch::randint(0, 2, {16}).to(torch::kCUDA);
      step.run(torch::randn({16, 3, 32, 32}).to(torch::kCUDA), b);
    }
    EXPECT_EQ(step.graphed(), graphs);
    EXPECT_EQ(step.take().images, 8 * 16);
    std::vector<torch::Tensor> w;
    for (const auto& p : m->parameters()) w.push_back(p.detach().cpu());
    weights.push_back(w);
  }
  for (size_t i = 0; i < weights[0].size(); ++i) {
    EXPECT_LT((weights[0][i] - weights[1][i]).abs().max().item<float>(), 1e-3) << "parameter " << i;
  }
}

TEST(GpuStep, AugmentationOnTheGpuIsTheCpuLoaders) {
  REQUIRE_CUDA();
  const int64_t n = 20, side = 24;
  torch::manual_seed(1);
  const auto hwc = std::make_shared<torch::Tensor>(torch::randint(0, 256, {n, side, side, 3}).to(torch::kUInt8));
  SplitData d;
  d.source_size = static_cast<int>(side);
  d.image = [hwc, side](size_t row) { return hwc->data_ptr<uint8_t>() + row * side * side * 3; };
  for (int64_t i = 0; i < n; ++i) d.rows.push_back(static_cast<size_t>(i));
  d.age_class = d.gender = d.race = d.age = torch::zeros({n}, torch::kLong);
  ModelInput in;
  in.size = in.source_size = static_cast<int>(side);
  AugmentConfig aug;
  aug.shift = 0.15, aug.brightness = 0.2, aug.contrast = 0.3;
  BatchLoader cpu(d, in, 8, true, &aug, 3, 1);
  BatchLoader raw(d, in, 8, true, &aug, 3, 1, 3, LoaderOutput{true, true});
  const DeviceAugment gpu(in.norm, torch::kCUDA, true);
  Batch a, b;
  while (cpu.next(a)) {
    ASSERT_TRUE(raw.next(b));
    EXPECT_TRUE(b.x.is_pinned());
    EXPECT_TRUE(b.age_class.is_pinned());
    const auto x = gpu(b.x.to(torch::kCUDA, true), b.draws.to(torch::kCUDA, true)).cpu();
    EXPECT_LT((x - a.x).abs().max().item<float>(), 1e-4);
  }
}
