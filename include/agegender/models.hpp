#pragma once
// The model registry (torch-free view): names and descriptions for `agegender models` and validation.
#include <string>
#include <vector>

namespace agegender {

struct ModelInfo {
  std::string name;
  std::string description;
  int conv_layers;  // what model.trainable_conv_layers counts
};

const std::vector<ModelInfo>& model_registry();

}  // namespace agegender
