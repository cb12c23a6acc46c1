#pragma once
// Self-describing checkpoints: weights (+ optimizer state for `last`) as safetensors, and everything
// needed to rebuild and feed the model (spec, binning, normalisation, config, epoch...) in __metadata__.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "agegender/age_calibration.hpp"
#include "agegender/binning.hpp"
#include "model/face_net.hpp"
#include "model/batch_loader.hpp"

namespace agegender {

inline constexpr const char* kBestCheckpoint = "best.safetensors";
inline constexpr const char* kLastCheckpoint = "last.safetensors";
inline constexpr const char* kOptimizerPrefix = "optimizer.";

/// Atomic. `optimizer` may be null (weights only). `meta` lands in __metadata__["agegender"].
void save_checkpoint(const std::string& path, FaceNetImpl& model, torch::optim::Optimizer* optimizer,
                     const nlohmann::json& meta);
/// Loads weights (strict) and, when `optimizer` is given, its state. Returns the metadata.
nlohmann::json load_checkpoint(const std::string& path, FaceNetImpl& model, torch::optim::Optimizer* optimizer);
nlohmann::json read_checkpoint_meta(const std::string& path);

nlohmann::json spec_json(const ModelSpec& s);
ModelSpec spec_from_json(const nlohmann::json& j);
nlohmann::json binning_json(const AgeBinning& b);
AgeBinning binning_from_json(const nlohmann::json& j);

/// Checks the metadata of a checkpoint against itself and the model registry before anything is built:
/// spec ranges, binning, one finite class mean age per class, input contract. Throws RuntimeError naming
/// `origin` and the field.
void validate_checkpoint_meta(const ModelSpec& spec, const AgeBinning& binning, const ModelInput& input,
                              const std::vector<double>& class_mean_age, const std::string& origin);

/// A trained model ready for inference, from a run directory (its best checkpoint) or a .safetensors file.
struct LoadedModel {
  FaceNet model{nullptr};
  ModelSpec spec;
  AgeBinning binning;
  ModelInput input;  // the preprocessing contract the model was trained with
  std::vector<double> class_mean_age;
  std::vector<double> age_share_weights;  // share_calibration.hpp; empty in checkpoints without them
  std::vector<double> gender_share_weights;  // (male, female), likewise
  AgeCalibration age_calibration;         // age_calibration.hpp; identity in checkpoints without one
  nlohmann::json meta;
  std::string path;
};
LoadedModel load_trained_model(const std::string& run_dir_or_file);

}  // namespace agegender
