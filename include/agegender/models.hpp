#pragma once
// The model registry (torch-free view): one entry per architecture, used by `agegender models`, config
// validation (arch names, conv layer counts, minimum input size) and, with its factory, build_model.
#include <string>
#include <vector>

namespace agegender {

struct ModelInfo {
  std::string name;
  std::string description;
  int conv_layers = 0;     // what model.trainable_conv_layers counts
  int min_input_size = 0;  // smallest data.size whose feature map is still >= 1x1
};

const std::vector<ModelInfo>& model_registry();
/// The entry named `arch`, or nullptr.
const ModelInfo* find_model(const std::string& arch);

}  // namespace agegender
