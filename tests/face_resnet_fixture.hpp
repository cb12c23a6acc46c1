#pragma once
// Face recognition weights the tests write: a face-api style TF.js manifest (TF names and layouts) of a
// FaceResNet's parameters, so the real loading code runs without the npm models.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "model/face_resnet.hpp"
#include "test_util.hpp"

namespace agegender::test {

/// Writes `net`'s parameters (all but `drop`) as face_recognition_model-weights_manifest.json + shard.
inline void write_as_tfjs(FaceResNetImpl& net, const fs::path& dir, const std::string& drop = "") {
  using nlohmann::json;
  json weights = json::array();
  std::string bin;
  for (const auto& p : net.named_parameters(true)) {
    std::string name = p.key().rfind("features.", 0) == 0 ? p.key().substr(9) : p.key();
    for (char& c : name) c = c == '.' ? '/' : c;
    if (name.size() > 7 && name.compare(name.size() - 7, 7, "/weight") == 0) {
      name.replace(name.size() - 6, 6, name.find("/scale/") != std::string::npos ? "weights" : "filters");
    } else if (name.size() > 5 && name.compare(name.size() - 5, 5, "/bias") == 0 && name.find("/scale/") != std::string::npos) {
      name += "es";
    }
    if (name == drop) continue;
    torch::Tensor t = p.value().detach();
    if (t.dim() == 4) t = t.permute({2, 3, 1, 0});  // OIHW -> HWIO
    t = t.contiguous();
    weights.push_back({{"name", name}, {"shape", t.sizes().vec()}, {"dtype", "float32"}});
    bin.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * 4);
  }
  write_file(dir / "face_recognition_model-shard1", bin);
  write_file(dir / "face_recognition_model-weights_manifest.json",
             json::array({{{"paths", {"face_recognition_model-shard1"}}, {"weights", weights}}}).dump());
}

/// A random but deterministic face network's weights in `dir`.
inline void write_random_face_models(const fs::path& dir, uint64_t seed = 4) {
  torch::manual_seed(seed);
  FaceResNet net;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) p.normal_(0, 0.05);
  }
  fs::create_directories(dir);
  write_as_tfjs(*net, dir);
}

}  // namespace agegender::test
