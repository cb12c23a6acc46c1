#include "agegender/face_embedder.hpp"

#include <cstdlib>
#include <filesystem>

#include "agegender/error.hpp"
#include "agegender/tfjs_weights.hpp"
#include "model/device.hpp"
#include "model/face_resnet.hpp"

namespace agegender {
namespace fs = std::filesystem;

constexpr const char* kRecognitionManifest = "face_recognition_model-weights_manifest.json";

struct FaceEmbedder::Impl {
  FaceResNet net;
  torch::Device device{torch::kCPU};
};

FaceEmbedder::FaceEmbedder(const std::string& models_dir, const std::string& device) : impl_(std::make_unique<Impl>()) {
  const fs::path manifest = fs::path(models_dir) / kRecognitionManifest;
  if (!fs::is_regular_file(manifest)) {
    throw UsageError("face models not found: " + manifest.string() +
                     " is missing (fetch them with scripts/fetch_face_models.sh " + models_dir + ", or pass --models DIR)");
  }
  load_face_resnet_tfjs(*impl_->net, read_tfjs_weights(manifest.string()));
  impl_->device = pick_device(device, "--device");
  impl_->net->to(impl_->device);
  impl_->net->eval();
}

FaceEmbedder::~FaceEmbedder() = default;

void FaceEmbedder::preprocess(const RgbView& face, float* chw) {
  face_api_preprocess(face.pixels, face.height, face.width, face_resnet_input(), chw);
}

std::vector<float> FaceEmbedder::embed_preprocessed(const float* chw, size_t count) {
  if (count == 0) return {};
  torch::NoGradGuard no_grad;
  const int64_t s = kFaceResNetInput;
  const auto x = torch::from_blob(const_cast<float*>(chw), {static_cast<int64_t>(count), 3, s, s}, torch::kFloat);
  const torch::Tensor d = impl_->net->forward(x.to(impl_->device)).to(torch::kCPU).contiguous();
  return std::vector<float>(d.data_ptr<float>(), d.data_ptr<float>() + d.numel());
}

std::vector<float> FaceEmbedder::embed(const std::vector<RgbView>& faces) {
  const size_t plane = 3 * static_cast<size_t>(kFaceResNetInput) * kFaceResNetInput;
  std::vector<float> batch(faces.size() * plane);
  for (size_t i = 0; i < faces.size(); ++i) preprocess(faces[i], batch.data() + i * plane);
  return embed_preprocessed(batch.data(), faces.size());
}

}  // namespace agegender
