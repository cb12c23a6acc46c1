// The one list of architectures: name, description, counts and factory together, so that
// `agegender models`, config validation and build_model cannot disagree.
#include "agegender/error.hpp"
#include "agegender/models.hpp"
#include "model/face_net.hpp"
#include "model/face_resnet.hpp"

namespace agegender {
namespace {

struct Entry {
  ModelInfo info;
  torch::nn::Sequential (*features)(int in_channels, int* out_channels);
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"base_cnn", "4 conv blocks (32-64-128-256, conv3x3-BN-ReLU-maxpool), GAP or flatten head", 4, 16},
       make_base_cnn_features},
      {{"vgg16", "torchvision VGG16 features (13 conv), ImageNet-loadable by name, GAP or flatten head", 13, 32},
       make_vgg16_features},
      {{"face_resnet", "dlib's ResNet-34-style face network (29 conv, face-api's face_recognition_model), 150 px",
        29, 112},
       make_face_resnet_features},
  };
  return list;
}

}  // namespace

const std::vector<ModelInfo>& model_registry() {
  static const std::vector<ModelInfo> infos = [] {
    std::vector<ModelInfo> v;
    for (const auto& e : entries()) v.push_back(e.info);
    return v;
  }();
  return infos;
}

const ModelInfo* find_model(const std::string& arch) {
  for (const auto& m : model_registry()) {
    if (m.name == arch) return &m;
  }
  return nullptr;
}

FaceNet build_model(const ModelSpec& spec) {
  const Entry* entry = nullptr;
  for (const auto& e : entries()) {
    if (e.info.name == spec.arch) entry = &e;
  }
  if (!entry) throw UsageError("unknown model.arch '" + spec.arch + "' (see `agegender models`)");
  if (spec.input_size < entry->info.min_input_size) {
    throw UsageError("data.size " + std::to_string(spec.input_size) + " is too small for " + spec.arch + " (minimum " +
                     std::to_string(entry->info.min_input_size) + ")");
  }
  int channels = 0;
  FaceNet net(entry->features(spec.in_channels, &channels), channels, spec);
  net->set_trainable_conv_layers(spec.trainable_conv_layers);
  return net;
}

}  // namespace agegender
