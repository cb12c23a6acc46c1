#pragma once
// Exported-model fixtures: small randomly initialised checkpoints of each architecture (BatchNorm
// statistics and channel scales randomised too, so folding them into convolutions is exercised), the
// LibTorch vs OpenCV DNN comparison, and python3-onnx's checker.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "agegender/exporter.hpp"
#include "model/checkpoint.hpp"
#include "predict/face_engine.hpp"
#include "test_util.hpp"

namespace agegender::test {

struct ExportCase {
  std::string arch;
  int size;
  std::string head = "gap";      // gap | flatten
  std::string age_head = "bins"; // bins | years
  int channels = 3;
};

/// Readable parameters in gtest/ctest output instead of the struct's bytes.
inline void PrintTo(const ExportCase& c, std::ostream* os) {
  *os << c.arch << " " << c.size << "px " << c.head << " " << c.age_head << " c" << c.channels;
}

/// Writes `<dir>/<arch>_<head>_<age_head>.safetensors`: a seeded random `c` model, as a trained run's best
/// checkpoint would be (intuition age groups, ImageNet normalisation); `extra_meta` is merged into its metadata.
inline std::string write_random_checkpoint(const std::string& dir, const ExportCase& c, uint64_t seed = 1,
                                           const nlohmann::json& extra_meta = nlohmann::json::object()) {
  torch::manual_seed(seed);
  ModelSpec spec;
  spec.arch = c.arch;
  spec.head = c.head;
  spec.age_head = c.age_head;
  spec.input_size = c.size;
  spec.in_channels = c.channels;
  const AgeBinning binning = AgeBinning::intuition();
  spec.num_age_classes = binning.num_classes();
  FaceNet model = build_model(spec);
  {
    torch::NoGradGuard no_grad;
    for (auto& b : model->named_buffers()) {
      if (b.key().find("running_mean") != std::string::npos) b.value().normal_(0, 0.2);
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
    }
    for (auto& p : model->named_parameters()) {  // BatchNorm (base_cnn's features.N.1) and ChannelScale affines
      const std::string& k = p.key();
      const bool affine = k.rfind("features.", 0) == 0 && (k.find("scale.") != std::string::npos || k.find(".1.") != std::string::npos);
      if (affine && k.find("weight") != std::string::npos) p.value().uniform_(0.5, 1.5);
      if (affine && k.find("bias") != std::string::npos) p.value().normal_(0, 0.1);
    }
    // Wider heads, so the softmax is not flat and argmax is meaningful.
    for (auto& p : model->named_parameters()) {
      if (p.key().rfind("age_head.", 0) == 0 || p.key().rfind("gender_head.", 0) == 0) p.value().mul_(8);
    }
  }
  ModelInput input;
  input.size = input.source_size = c.size;
  input.channels = c.channels;
  input.norm = Normalization::imagenet(c.channels);
  std::vector<double> mean_age;
  for (int k = 0; k < binning.num_classes(); ++k) mean_age.push_back(5.0 + 10.0 * k);
  const std::string path = dir + "/" + c.arch + "_" + c.head + "_" + c.age_head + ".safetensors";
  nlohmann::json meta = {{"model", spec_json(spec)}, {"binning", binning_json(binning)}, {"input", input.to_json()}, {"class_mean_age", mean_age}};
  meta.update(extra_meta);
  save_checkpoint(path, *model, nullptr, meta);
  return path;
}

struct Parity {
  double max_abs_diff = 0;  // over age-group probabilities, P(female) and expected age / 100
  int argmax_mismatches = 0, faces = 0;
};

/// Both engines on the same n normalised faces.
inline Parity compare_engines(FaceEngine& torch_engine, FaceEngine& cv_engine, const float* x, int64_t n, bool tta = false) {
  EngineOutput a, b;
  torch_engine.run(x, n, tta, a);
  cv_engine.run(x, n, tta, b);
  Parity p;
  p.faces = static_cast<int>(n);
  EXPECT_EQ(a.age_probs.size(), b.age_probs.size());
  EXPECT_EQ(a.female_probs.size(), b.female_probs.size());
  EXPECT_EQ(a.ages.size(), b.ages.size());
  if (a.age_probs.size() != b.age_probs.size() || a.female_probs.size() != b.female_probs.size() || a.ages.size() != b.ages.size()) return p;
  for (size_t i = 0; i < a.age_probs.size(); ++i) p.max_abs_diff = std::max(p.max_abs_diff, std::abs(double(a.age_probs[i]) - b.age_probs[i]));
  for (size_t i = 0; i < a.female_probs.size(); ++i) {
    p.max_abs_diff = std::max(p.max_abs_diff, std::abs(double(a.female_probs[i]) - b.female_probs[i]));
    p.argmax_mismatches += (a.female_probs[i] >= 0.5f) != (b.female_probs[i] >= 0.5f);
  }
  for (size_t i = 0; i < a.ages.size(); ++i) p.max_abs_diff = std::max(p.max_abs_diff, std::abs(double(a.ages[i]) - b.ages[i]) / 100);
  const size_t k = torch_engine.class_names().size();
  for (int64_t i = 0; i < n && !a.age_probs.empty(); ++i) {
    const auto best = [&](const std::vector<float>& v) { return std::max_element(v.begin() + i * k, v.begin() + (i + 1) * k) - v.begin(); };
    p.argmax_mismatches += best(a.age_probs) != best(b.age_probs);
  }
  return p;
}

/// python3-onnx (Debian's) on `path`: the checker with full_check (strict shape inference). "" when it
/// passes, else its output.
inline std::string onnx_checker(const std::string& path) {
  const RunResult r = run_shell(
      "/usr/bin/python3 -c \"import sys, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); "
      "onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True); print('onnx.checker ok')\" '" + path + "'");
  return r.exit_code == 0 ? "" : r.output;
}

}  // namespace agegender::test
