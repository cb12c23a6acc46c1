#include <gtest/gtest.h>

#include "agegender/error.hpp"
#include "model/face_net.hpp"
#include "model/weights.hpp"

using namespace agegender;

namespace {
int64_t count(const FaceNet& m, bool trainable) {
  int64_t n = 0;
  for (const auto& p : m->parameters()) {
    if (p.requires_grad() == trainable) n += p.numel();
  }
  return n;
}
}  // namespace

TEST(Models, BaseCnnShapesColorAndGray) {
  ModelSpec s;
  s.input_size = 64;
  s.num_age_classes = 7;
  auto m = build_model(s);
  m->eval();
  auto out = m->forward(torch::randn({5, 3, 64, 64}));
  EXPECT_EQ(out.age_logits.sizes(), (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(out.gender_logits.sizes(), (std::vector<int64_t>{5, 2}));
  s.in_channels = 1;
  s.head = "flatten";
  s.gender_head = false;
  m = build_model(s);
  m->eval();
  out = m->forward(torch::randn({2, 1, 64, 64}));
  EXPECT_EQ(out.age_logits.size(1), 7);
  EXPECT_FALSE(out.gender_logits.defined());
  EXPECT_EQ(m->conv_layers().size(), 4u);
}

TEST(Models, Vgg16HasTorchvisionNames) {
  ModelSpec s;
  s.arch = "vgg16";
  s.input_size = 32;
  auto m = build_model(s);
  const auto params = m->named_parameters(true);
  for (int i : {0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28}) {
    EXPECT_TRUE(params.contains("features." + std::to_string(i) + ".weight")) << i;
    EXPECT_TRUE(params.contains("features." + std::to_string(i) + ".bias")) << i;
  }
  EXPECT_EQ(m->conv_layers().size(), 13u);
  EXPECT_EQ(params["features.28.weight"].sizes(), (std::vector<int64_t>{512, 512, 3, 3}));
  m->eval();
  EXPECT_EQ(m->forward(torch::randn({1, 3, 32, 32})).age_logits.size(1), 7);
}

TEST(Models, FreezingKeepsOnlyLastConvLayersTrainable) {
  ModelSpec s;
  s.arch = "vgg16";
  s.input_size = 32;
  s.num_age_classes = 7;
  s.trainable_conv_layers = 0;
  auto head_only = build_model(s);
  const int64_t head = 512 * 7 + 7 + 512 * 2 + 2;
  EXPECT_EQ(count(head_only, true), head);
  s.trainable_conv_layers = 1;
  auto one = build_model(s);
  EXPECT_EQ(count(one, true), head + 512 * 512 * 9 + 512);
  s.trainable_conv_layers = 2;
  EXPECT_EQ(count(build_model(s), true), head + 2 * (512 * 512 * 9 + 512));
  s.trainable_conv_layers = -1;
  auto all = build_model(s);
  EXPECT_EQ(count(all, false), 0);
  EXPECT_EQ(count(all, true), 14714688 + head);  // torchvision VGG16 features: 14,714,688 parameters

  // Frozen layers get no gradient.
  auto x = torch::randn({2, 3, 32, 32});
  auto out = one->forward(x);
  out.age_logits.sum().backward();
  const auto p = one->named_parameters(true);
  EXPECT_FALSE(p["features.0.weight"].grad().defined());
  EXPECT_TRUE(p["features.28.weight"].grad().defined());
}

TEST(Models, UnknownArchAndTinyInput) {
  ModelSpec s;
  s.arch = "resnet";
  EXPECT_THROW(build_model(s), UsageError);
  s.arch = "vgg16";
  s.head = "flatten";
  s.input_size = 16;  // five 2x poolings leave nothing: our registry check refuses it before LibTorch runs
  try {
    build_model(s);
    FAIL() << "vgg16 built at 16 px";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("data.size 16 is too small for vgg16 (minimum 32)"), std::string::npos) << e.what();
  }
  s.input_size = 32;  // the smallest size the registry allows does build and run
  auto m = build_model(s);
  m->eval();
  EXPECT_EQ(m->forward(torch::randn({1, 3, 32, 32})).age_logits.size(0), 1);
}

TEST(Models, WeightsRoundTripBySafetensors) {
  ModelSpec s;
  s.input_size = 32;
  auto a = build_model(s), b = build_model(s);
  StFile f;
  add_module_tensors(*a, f);
  const auto r = load_module_tensors(*b, parse_safetensors(serialize_safetensors(f)), "mem", true);
  EXPECT_EQ(r.loaded, f.tensors.size());
  a->eval();
  b->eval();
  const auto x = torch::randn({2, 3, 32, 32});
  EXPECT_TRUE(torch::equal(a->forward(x).age_logits, b->forward(x).age_logits));
  f.tensors.erase("age_head.bias");
  f.tensors["bogus"] = f.tensors["gender_head.bias"];
  try {
    load_module_tensors(*b, f, "mem", true);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("missing: age_head.bias"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unexpected: bogus"), std::string::npos) << e.what();
  }
}
