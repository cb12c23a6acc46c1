#pragma once
// Experiment configs: compiled defaults < --config FILE (may "extends") < --set key.path=value.
// The whole tree is validated before any work: unknown keys (with a "did you mean"), wrong types and
// out-of-range values raise UsageError naming the key path.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace agegender {

struct DataConfig {
  std::string prepared;  // prepared dataset directory
  int size = 64;         // model input side; resized from the cache when different
  bool color = true;     // false = grayscale (1 channel)
  double subset = 1.0;   // fraction of each split used (evenly spaced, deterministic): quick CI profiles
};

struct LabelsConfig {
  std::string age_bins = "intuition";  // bin10 | balanced | intuition | custom
  std::vector<int> custom_edges;       // when age_bins == "custom" ({"edges": [...]})
  int balanced_classes = 7;
  bool age = true, gender = true;  // labels.tasks
  double gender_weight = 1.0;
};

struct ModelConfig {
  std::string arch = "base_cnn";  // see `agegender models`
  std::string head = "gap";       // gap | flatten
  double dropout = 0.3;
  int trainable_conv_layers = -1;  // -1 = all; N = only the last N conv layers train
  std::string pretrained;          // safetensors weights loaded by name before training
  std::string age_head = "bins";   // bins: one class per age group | years: one per year, summed into groups
};

struct AugmentConfig {
  bool hflip = true;
  double shift = 0.1;       // max translation, fraction of the side
  double brightness = 0.2;  // max additive change, fraction of full range
  double contrast = 0.2;    // max multiplicative change around the mean
  // Resolution: with this probability an image is shrunk to a side drawn from downscale_min..input size
  // and enlarged back, as a face far from a store camera reaches the model (scene faces of 48-100 px).
  double downscale = 0;
  int downscale_min = 48;
};

// A second phase after the first one's epochs: the best weights so far, more layers unfrozen, a lower
// learning rate and pixel augmentation (which the first phase's feature cache cannot give).
struct FinetuneConfig {
  int epochs = 0;                   // 0 = no second phase
  double lr = 2e-5;                 // peak; cosine to 0 over the phase after the warm-up
  int warmup_epochs = 1;            // linear warm-up: epoch k of w runs at lr * k / (w + 1)
  int trainable_conv_layers = -1;   // as model.trainable_conv_layers, for this phase
  AugmentConfig augment{true, 0.05, 0.1, 0.1, 0, 48};
};

struct TrainConfig {
  int epochs = 30;
  int batch_size = 64;
  std::string optimizer = "adam";  // adam | sgd
  double lr = 1e-3;
  double momentum = 0.9;  // sgd
  double weight_decay = 0.0;
  std::string schedule = "none";  // none | cosine | plateau
  double plateau_factor = 0.5;
  int plateau_patience = 2;
  int patience = 5;  // early_stopping.patience; 0 = off
  double min_delta = 0.0;
  AugmentConfig augment;
  uint64_t seed = 42;
  int threads = 0;             // 0 = all cores
  std::string device = "cpu";  // cpu | cuda | auto
  int log_interval = 50;       // batches between progress lines
  std::string age_loss = "ldl";  // year head: ldl (KL to a Gaussian over years) | mean_variance
  double age_sigma = 2.0;        // ldl: the Gaussian's standard deviation in years
  std::string feature_cache = "auto";        // auto: cache the frozen layers' output when possible | off
  std::string feature_cache_dtype = "fp16";  // fp16 | fp32
  // Speed settings (any device; resume may change them): autocast precision, NHWC weights and batches,
  // cuDNN autotuning, and one CUDA graph per static-shape training step.
  std::string amp = "off";      // off | bf16 | fp16 (fp16: CUDA only, with dynamic loss scaling)
  bool channels_last = false;
  bool cudnn_benchmark = true;
  bool cuda_graphs = true;
  FinetuneConfig finetune;
};

struct ExperimentConfig {
  std::string name;        // run name (run directory runs/<name>)
  std::string output_dir;  // output.dir
  DataConfig data;
  LabelsConfig labels;
  ModelConfig model;
  TrainConfig train;
};

/// The compiled defaults as JSON (what `agegender config --defaults` prints).
nlohmann::json default_config();
/// Reads a config file, following "extends" (relative to the file) with cycle detection.
nlohmann::json load_config_file(const std::string& path);
/// Applies one "dotted.key=value" override; value parsed as JSON, else taken as a string.
void apply_override(nlohmann::json& tree, const std::string& assignment);
/// Deep-merges `patch` into `base` (objects merge, everything else replaces).
void merge_config(nlohmann::json& base, const nlohmann::json& patch);
/// Validates the full tree and converts it. Throws UsageError naming the key path.
ExperimentConfig parse_config(const nlohmann::json& tree);
/// defaults < file (optional) < overrides, validated.
nlohmann::json resolve_config_tree(const std::string& file, const std::vector<std::string>& overrides);
/// Every valid dotted key, for help and suggestions.
std::vector<std::string> config_keys();
/// Keys a resumed run may change because they do not change what is trained: train.threads,
/// train.device, train.log_interval.
bool resume_may_change(const std::string& key);
/// FNV-1a 64 of `bytes` as 16 hex digits: a stable fingerprint (config hashes, shortened names).
std::string fnv1a64_hex(const std::string& bytes);
/// FNV-1a 64 (16 hex digits) of the canonical dump of `tree` without "provenance" and the keys resume
/// may change. Checkpoints keep it, so --resume notices a hand-edited config.json.
std::string config_hash(const nlohmann::json& tree);
/// Refuses JSON text nested deeper than 64 levels (nlohmann's parser recurses: 70,000 levels overflow
/// the stack). Throws UsageError naming `what` (a file, a --set value).
void check_json_depth(const std::string& text, const std::string& what);

}  // namespace agegender
