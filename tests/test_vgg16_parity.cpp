// Parity with torchvision (Debian's python3-torch / python3-torchvision): ImageNet-layout weights load
// into the C++ vgg16 and give the same features; agegender's weights load back into torchvision.
#include <gtest/gtest.h>

#include "model/face_net.hpp"
#include "model/weights.hpp"
#include "test_util.hpp"
#include "model/checkpoint.hpp"

using namespace agegender;
using namespace agegender::test;

namespace {

const std::string kPython = "/usr/bin/python3";
const std::string kScript = std::string(AGEGENDER_SOURCE_DIR) + "/tests/python/vgg16_parity.py";

bool python_torch_available() {
  return std::system((kPython + " -c 'import torch, torchvision' >/dev/null 2>&1").c_str()) == 0;
}

RunResult python(const std::string& args) {
  TempDir tmp;
  const int status = std::system((kPython + " " + kScript + " " + args + " >" + tmp.str("o") + " 2>&1").c_str());
  return {WEXITSTATUS(status), read_file(tmp.path() / "o")};
}

FaceNet vgg16() {
  ModelSpec s;
  s.arch = "vgg16";
  s.input_size = 64;
  auto m = build_model(s);
  m->eval();
  return m;
}

}  // namespace

TEST(Vgg16Parity, TorchvisionWeightsGiveTorchvisionFeatures) {
  if (!python_torch_available()) GTEST_SKIP() << "python3-torch/python3-torchvision not installed (scripts/setup.sh installs them)";
  TempDir tmp;
  const auto r = python("export " + tmp.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto model = vgg16();
  const StFile weights = read_safetensors(tmp.str("tv_vgg16.safetensors"));
  const LoadReport rep = load_module_tensors(*model, weights, "tv", true, "features.", {"classifier."});
  EXPECT_EQ(rep.loaded, 26u);
  EXPECT_EQ(rep.ignored.size(), 6u);  // classifier.{0,3,6}.{weight,bias}
  const StFile io = read_safetensors(tmp.str("tv_io.safetensors"));
  torch::NoGradGuard no_grad;
  const auto y = model->features(from_st_tensor(io.tensors.at("input")));
  const auto expected = from_st_tensor(io.tensors.at("output"));
  ASSERT_EQ(y.sizes(), expected.sizes());
  EXPECT_LT((y - expected).abs().max().item<float>(), 1e-4f);
}

TEST(Vgg16Parity, AgegenderCheckpointLoadsIntoTorchvision) {
  if (!python_torch_available()) GTEST_SKIP() << "python3-torch/python3-torchvision not installed (scripts/setup.sh installs them)";
  TempDir tmp;
  torch::manual_seed(3);
  auto model = vgg16();
  save_checkpoint(tmp.str("ag_weights.safetensors"), *model, nullptr, {{"note", "test"}});
  const auto x = torch::randn({2, 3, 64, 64});
  torch::NoGradGuard no_grad;
  StFile io;
  io.tensors["input"] = to_st_tensor(x);
  io.tensors["output"] = to_st_tensor(model->features(x));
  write_safetensors(tmp.str("ag_io.safetensors"), io);
  const auto r = python("check " + tmp.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto pos = r.output.find("max_abs_diff ");
  ASSERT_NE(pos, std::string::npos) << r.output;
  EXPECT_LT(std::stod(r.output.substr(pos + 13)), 1e-4) << r.output;
}
