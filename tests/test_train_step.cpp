// The training step's speed machinery, checked on the CPU: the multi-tensor Adam, loss scaling,
// autocast and channels-last (the CUDA side of the same code runs in tests/test_gpu.cpp).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "agegender/error.hpp"
#include "agegender/models.hpp"
#include "model/checkpoint.hpp"
#include "train/foreach_adam.hpp"
#include "train/precision.hpp"
#include "train/train_step.hpp"

using namespace agegender;

namespace {

ModelSpec tiny_spec() {
  ModelSpec s;
  s.arch = "base_cnn";
  s.input_size = 32;
  s.num_age_classes = 5;
  return s;
}

Batch random_batch(int64_t n, int64_t side, uint64_t seed) {
  torch::manual_seed(seed);
  Batch b;
  b.x = torch::randn({n, 3, side, side});
  b.age_class = torch::randint(0, 5, {n});
  b.age = torch::randint(0, 90, {n});
  b.gender = torch::randint(0, 2, {n});
  return b;
}

}  // namespace

TEST(ForeachAdam, SameUpdatesAsTorchAdam) {
  for (const double wd : {0.0, 1e-2}) {
    torch::manual_seed(3);
    FaceNet a = build_model(tiny_spec());
    FaceNet b = build_model(tiny_spec());
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].copy_(a->parameters()[i]);
    torch::optim::Adam ref(a->parameters(), torch::optim::AdamOptions(3e-3).weight_decay(wd));
    ForeachAdam fast(b->parameters(), torch::optim::AdamOptions(3e-3).weight_decay(wd));
    for (int step = 0; step < 5; ++step) {
      const Batch batch = random_batch(6, 32, 10 + step);
      for (auto* pair : {&a, &b}) {
        at::AutoGradMode grad(true);
        auto& opt = pair == &a ? static_cast<torch::optim::Optimizer&>(ref) : fast;
        opt.zero_grad();
        (*pair)->train();
        torch::manual_seed(100 + step);  // the same dropout masks for both
        face_loss((*pair)->forward(batch.x), batch.age_class, batch.gender, 1.0).backward();
        opt.step();
      }
    }
    double diff = 0;
    for (size_t i = 0; i < a->parameters().size(); ++i) {
      diff = std::max(diff, (a->parameters()[i] - b->parameters()[i]).abs().max().item<double>());
    }
    EXPECT_LT(diff, 1e-6) << "weight decay " << wd;
    // Same state layout, so checkpoints and resume are unchanged.
    const auto& sa = static_cast<torch::optim::AdamParamState&>(*ref.state().begin()->second);
    EXPECT_EQ(sa.step(), 5);
    EXPECT_EQ(fast.state().size(), ref.state().size());
  }
}

TEST(LossScaler, SkipsStepsWithNonFiniteGradientsAndAdaptsTheScale) {
  auto w = torch::ones({3}, torch::requires_grad());
  LossScaler scaler(true, 1024.0, /*growth_interval=*/2);
  scaler.scale_loss((w * 2).sum()).backward();
  EXPECT_TRUE(scaler.unscale({w}));
  EXPECT_TRUE(torch::allclose(w.grad(), torch::full({3}, 2.0f)));  // unscaled
  w.mutable_grad().zero_();
  scaler.scale_loss((w * 3).sum()).backward();
  EXPECT_TRUE(scaler.unscale({w}));
  EXPECT_EQ(scaler.scale(), 2048.0);  // two good steps in a row: doubled
  w.mutable_grad().fill_(INFINITY);
  EXPECT_FALSE(scaler.unscale({w}));
  EXPECT_EQ(scaler.scale(), 1024.0);  // overflow: halved
  LossScaler off(false);
  const auto loss = torch::tensor(2.0f);
  EXPECT_TRUE(off.scale_loss(loss).equal(loss));
}

TEST(Precision, Fp16NeedsCudaAndTheErrorNamesTheKey) {
  EXPECT_NO_THROW(check_precision("bf16", torch::kCPU));
  EXPECT_NO_THROW(check_precision("off", torch::kCPU));
  try {
    check_precision("fp16", torch::kCPU);
    FAIL() << "fp16 accepted on the CPU";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'train.amp'"), std::string::npos) << e.what();
  }
}

TEST(Precision, Bf16AutocastRunsConvolutionsInBf16AndIsRestored) {
  FaceNet m = build_model(tiny_spec());
  m->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 3, 32, 32});
  {
    AutocastScope scope(torch::kCPU, "bf16");
    EXPECT_EQ(m->forward(x).age_logits.scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(m->forward(x).age_logits.scalar_type(), torch::kFloat);
}

// A bf16 + channels-last step learns like fp32, keeps fp32 NCHW checkpoints, and counts on the device.
TEST(TrainStep, Bf16ChannelsLastLearnsAndCheckpointsStayPortable) {
  const HeadDecoder decoder(tiny_spec(), AgeBinning({0, 20, 40, 60, 80}, "custom"));
  std::map<std::string, double> final_loss;
  for (const std::string amp : {"off", "bf16"}) {
    torch::manual_seed(5);
    FaceNet m = build_model(tiny_spec());
    m->train();
    ForeachAdam opt(m->parameters(), torch::optim::AdamOptions(3e-3));
    StepSettings s;
    s.amp = amp;
    s.channels_last = amp == "bf16";
    TrainStep step(*m, opt, decoder, s);
    const Batch b = random_batch(16, 32, 1);
    double first = 0, last = 0;
    for (int i = 0; i < 30; ++i) {
      const double loss = step.run(b.x, b).item<double>();
      (i == 0 ? first : last) = loss;
    }
    EXPECT_LT(last, first * 0.5) << amp << ": " << first << " -> " << last;
    const StepTotals t = step.take();
    EXPECT_EQ(t.images, 30 * 16);
    EXPECT_GT(t.age_correct, 0);
    EXPECT_EQ(step.take().images, 0);  // take() starts new totals
    final_loss[amp] = last;
    if (s.channels_last) {
      const auto conv = m->parameters()[0];
      ASSERT_EQ(conv.dim(), 4);
      EXPECT_TRUE(conv.is_contiguous(torch::MemoryFormat::ChannelsLast));
      EXPECT_EQ(conv.scalar_type(), torch::kFloat);  // autocast casts per op; the weights stay fp32
      // The checkpoint is plain NCHW: a model built the ordinary way loads it and computes the same.
      const auto path = std::filesystem::temp_directory_path() / ("cl_" + std::to_string(::getpid()) + ".safetensors");
      save_checkpoint(path.string(), *m, &opt, {{"test", true}});
      FaceNet plain = build_model(tiny_spec());
      load_checkpoint(path.string(), *plain, nullptr);
      std::filesystem::remove(path);
      m->eval(), plain->eval();
      torch::NoGradGuard no_grad;
      EXPECT_LT((m->forward(b.x).age_logits - plain->forward(b.x).age_logits).abs().max().item<float>(), 1e-4);
    }
  }
  EXPECT_NEAR(final_loss["bf16"], final_loss["off"], 0.25);
}
