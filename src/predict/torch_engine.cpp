// predict's LibTorch engine: a trained checkpoint through HeadDecoder, exactly as eval scores it.
#include <filesystem>

#include "agegender/error.hpp"
#include "model/checkpoint.hpp"
#include "model/device.hpp"
#include "model/inference.hpp"
#include "predict/face_engine.hpp"

namespace agegender {
namespace {

class TorchEngine : public FaceEngine {
 public:
  TorchEngine(const std::string& model, const torch::Device& device)
      : m_(load_trained_model(model)), decoder_(m_.spec, m_.binning, m_.class_mean_age, m_.age_calibration), names_(m_.binning.class_names()),
        device_(device) {
    m_.model->to(device);
  }

  const ModelInput& input() const override { return m_.input; }
  const std::vector<std::string>& class_names() const override { return names_; }

  void run(const float* x, int64_t n, bool tta, EngineOutput& out) override {
    torch::NoGradGuard no_grad;
    const auto& in = m_.input;
    // from_blob: `x` outlives the call; .to(device) copies only for a GPU.
    const auto batch = torch::from_blob(const_cast<float*>(x), {n, in.channels, in.size, in.size}, torch::kFloat);
    const HeadProbs h = infer(*m_.model, decoder_, batch.to(device_), tta);
    const auto append = [](std::vector<float>& v, const torch::Tensor& t) {
      if (t.defined()) v.insert(v.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    };
    append(out.age_probs, h.age_probs);
    append(out.ages, h.expected_age);
    append(out.female_probs, h.female_prob);
  }

 private:
  LoadedModel m_;
  HeadDecoder decoder_;
  std::vector<std::string> names_;
  torch::Device device_;
};

}  // namespace

std::unique_ptr<FaceEngine> make_torch_engine(const std::string& model, const std::string& device, int threads) {
  if (std::filesystem::path(model).extension() == ".onnx") {
    throw UsageError("model " + model + " is an ONNX export: run it with --engine opencv (--engine torch takes a run or .safetensors)");
  }
  torch::set_num_threads(threads);
  return std::make_unique<TorchEngine>(model, pick_device(device, "--device"));
}

}  // namespace agegender
