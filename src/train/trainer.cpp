#include "agegender/trainer.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "agegender/age_calibration.hpp"
#include "agegender/allocator.hpp"
#include "agegender/atomic_file.hpp"
#include "agegender/charts.hpp"
#include "agegender/config.hpp"
#include "agegender/dir_lock.hpp"
#include "agegender/error.hpp"
#include "agegender/progress.hpp"
#include "agegender/share_calibration.hpp"
#include "agegender/tb_writer.hpp"
#include "agegender/tfjs_weights.hpp"
#include "agegender/threads.hpp"
#include "agegender/version.hpp"
#include "model/inference.hpp"
#include "model/weights.hpp"
#include "model/checkpoint.hpp"
#include "model/device.hpp"
#include "model/face_resnet.hpp"
#include "model/feature_cache.hpp"
#include "train/foreach_adam.hpp"
#include "train/metrics_log.hpp"
#include "train/selection.hpp"
#include "train/train_step.hpp"

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kConfigFile = "config.json";
constexpr const char* kSummaryFile = "summary.json";
constexpr const char* kCurvesFile = "curves.png";

// A metric the run does not have (no val or test split) is null, not 0, in summary.json.
json or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Early stopping, best-epoch and LR-plateau bookkeeping; saved in checkpoints so resume continues exactly.
struct TrainState {
  int epoch = 0;  // epochs completed
  int best_epoch = 0;
  double best_val_loss = INFINITY;
  int bad_epochs = 0;
  double lr = 0;
  int plateau_bad = 0;
  double plateau_best = INFINITY;
  double seconds = 0;  // training wall time so far
  int finetune_from = 0;  // the epoch after which the fine-tune phase began (0 = not begun)
  EpochMetrics best_metrics;

  json to_json() const {
    return {{"epoch", epoch}, {"best_epoch", best_epoch}, {"best_val_loss", best_val_loss}, {"bad_epochs", bad_epochs},
            {"lr", lr}, {"plateau_bad", plateau_bad}, {"plateau_best", plateau_best}, {"seconds", seconds},
            {"finetune_from", finetune_from}, {"best_metrics", best_metrics.to_json()}};
  }
  static TrainState from_json(const json& j) {
    TrainState s;
    s.epoch = j.at("epoch");
    s.best_epoch = j.at("best_epoch");
    s.best_val_loss = j.at("best_val_loss").is_null() ? INFINITY : j.at("best_val_loss").get<double>();
    s.bad_epochs = j.at("bad_epochs");
    s.lr = j.at("lr");
    s.plateau_bad = j.at("plateau_bad");
    s.plateau_best = j.at("plateau_best").is_null() ? INFINITY : j.at("plateau_best").get<double>();
    s.seconds = j.at("seconds");
    s.finetune_from = j.value("finetune_from", 0);
    s.best_metrics = EpochMetrics::from_json(j.at("best_metrics"));
    return s;
  }
};

std::unique_ptr<torch::optim::Optimizer> make_optimizer(FaceNetImpl& model, const TrainConfig& t) {
  std::vector<torch::Tensor> params;
  for (auto& p : model.parameters()) {
    if (p.requires_grad()) params.push_back(p);  // frozen layers get no optimizer state at all
  }
  if (params.empty()) throw UsageError("config: nothing to train (every parameter is frozen)");
  if (t.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(t.lr).momentum(t.momentum).weight_decay(t.weight_decay));
  }
  return std::make_unique<ForeachAdam>(params, torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay));
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) g.options().set_lr(lr);
}

json provenance(const TrainRequest& req, const torch::Device& device, int threads) {
  char host[256] = "unknown";
  ::gethostname(host, sizeof host - 1);
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"agegender_version", version()}, {"git", git_revision()}, {"command_line", req.command_line},
          {"host", host}, {"device", device.str()}, {"threads", threads}, {"started", when},
          {"libtorch", TORCH_VERSION}};
}

// The run's config.json holds the resolved tree plus a "provenance" object.
json read_run_config(const std::string& run_dir) {
  const fs::path p = fs::path(run_dir) / kConfigFile;
  std::ifstream in(p);
  if (!in) throw UsageError("--resume " + run_dir + ": no " + kConfigFile + " (not a run directory)");
  std::stringstream text;
  text << in.rdbuf();
  check_json_depth(text.str(), p.string());
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw UsageError(p.string() + " is not valid JSON (a JSON object)");
  j.erase("provenance");
  return j;
}

// "'key' (before -> after)" for every key that differs and that a resumed run may not change.
std::vector<std::string> frozen_changes(const json& before, const json& after) {
  std::vector<std::string> out;
  for (const auto& key : config_keys()) {
    if (resume_may_change(key)) continue;
    const json::json_pointer ptr("/" + std::regex_replace(key, std::regex("\\."), "/"));
    const json a = before.contains(ptr) ? before[ptr] : json(), b = after.contains(ptr) ? after[ptr] : json();
    if (a != b) out.push_back("'" + key + "' (" + a.dump() + " -> " + b.dump() + ")");
  }
  return out;
}

json resume_config(const TrainRequest& req) {
  json tree = read_run_config(req.resume_dir);
  json changed = tree;
  for (const auto& o : req.resume_overrides) apply_override(changed, o);
  parse_config(changed);
  const auto diff = frozen_changes(tree, changed);
  if (!diff.empty()) {
    throw UsageError("--resume keeps the run's own config; " + diff.front() + " cannot change. Start a new run with --init-from " +
                     req.resume_dir + "/last.safetensors to fine-tune with other settings.");
  }
  return changed;
}

// config.json is the run's frozen config: a hand edit after the run started (lr changed, say) would be
// half honoured on resume. The checkpoint's hash of it catches that.
void check_frozen_config(const json& checkpoint_meta, const json& tree, const std::string& run_dir) {
  const auto it = checkpoint_meta.find("config_hash");
  if (it == checkpoint_meta.end()) {
    spdlog::warn("--resume {}: {} predates config hashes; cannot check that {} is unchanged since the run started", run_dir,
                 kLastCheckpoint, kConfigFile);
    return;
  }
  if (*it == config_hash(tree)) return;
  std::string changed;
  for (const auto& c : frozen_changes(checkpoint_meta.value("config", json::object()), tree)) {
    changed += (changed.empty() ? "" : ", ") + c;
  }
  throw UsageError("--resume " + run_dir + ": " + kConfigFile + " no longer matches the config the run was trained with" +
                   (changed.empty() ? "" : " (" + changed + ")") + "; restore it, or start a new run with --init-from " +
                   run_dir + "/" + kLastCheckpoint + " to continue with other settings");
}

std::vector<double> class_mean_ages(const SplitData& train, int k, const AgeBinning& b) {
  std::vector<double> sum(static_cast<size_t>(k), 0), n(static_cast<size_t>(k), 0);
  const auto cls = train.age_class.accessor<int64_t, 1>();
  const auto age = train.age.accessor<int64_t, 1>();
  for (int64_t i = 0; i < train.size(); ++i) {
    sum[static_cast<size_t>(cls[i])] += static_cast<double>(age[i]);
    n[static_cast<size_t>(cls[i])] += 1;
  }
  std::vector<double> mean(static_cast<size_t>(k));
  for (int c = 0; c < k; ++c) {
    // An empty class falls back to its range's midpoint (the open last class: its start + 5).
    const double lo = b.edges()[static_cast<size_t>(c)];
    const double hi = c + 1 < k ? b.edges()[static_cast<size_t>(c) + 1] - 1 : lo + 10;
    mean[static_cast<size_t>(c)] = n[static_cast<size_t>(c)] > 0 ? sum[static_cast<size_t>(c)] / n[static_cast<size_t>(c)] : (lo + hi) / 2;
  }
  return mean;
}

class Trainer {
 public:
  explicit Trainer(const TrainRequest& req) : req_(req) {}
  TrainResult run();

 private:
  void setup_data();
  void setup_model();
  void setup_feature_cache();
  void setup_step();
  void enter_finetune(bool begin);
  bool in_finetune() const { return state_.finetune_from > 0; }
  int phase_last_epoch() const;
  double next_lr(int epochs_done) const;
  bool run_phase(int& session_epochs);
  PredictionSet score(const SplitData& split);
  EpochMetrics train_epoch(int epoch);
  void end_epoch(EpochMetrics m);
  json checkpoint_meta() const;
  json finish();

  const TrainRequest& req_;
  json tree_;
  ExperimentConfig cfg_;
  torch::Device device_{torch::kCPU};
  int threads_ = 1;
  PreparedDataset ds_;
  AgeBinning binning_;
  SplitData train_, val_, test_;
  std::vector<double> class_mean_age_;
  ModelSpec spec_;
  ModelInput input_;
  FaceNet model_{nullptr};
  std::unique_ptr<HeadDecoder> decoder_;
  LossOptions loss_;
  AugmentConfig augment_;  // the current phase's
  std::unique_ptr<FeatureCache> cache_;  // the frozen layers' output, when they are cached
  json cache_summary_;                   // summary.json's "feature_cache" (kept after a fine-tune phase drops it)
  std::unique_ptr<torch::optim::Optimizer> opt_;
  std::unique_ptr<TrainStep> step_;
  std::unique_ptr<DeviceAugment> device_augment_;  // CUDA: uint8 batches are augmented on the GPU
  TrainState state_;
  std::string run_dir_;
  std::unique_ptr<TensorBoardWriter> tb_;
  std::unique_ptr<MetricsLog> log_;
  std::unique_ptr<DirLock> lock_;  // held from before the first write to the run directory until the end
};

void Trainer::setup_data() {
  ds_ = PreparedDataset::open(cfg_.data.prepared);
  const double f = cfg_.data.subset;
  const auto train_idx = ds_.indices(Split::Train, f), val_idx = ds_.indices(Split::Val, f), test_idx = ds_.indices(Split::Test, f);
  if (train_idx.empty()) throw UsageError("prepared dataset " + cfg_.data.prepared + " has no train split");
  std::vector<int> train_ages;
  for (size_t i : train_idx) train_ages.push_back(ds_.rows[i].label.age);
  binning_ = cfg_.labels.age_bins == "custom" ? AgeBinning(cfg_.labels.custom_edges, "custom")
                                               : AgeBinning::by_name(cfg_.labels.age_bins, train_ages, cfg_.labels.balanced_classes);
  const auto t0 = std::chrono::steady_clock::now();
  train_ = load_split(ds_, train_idx, binning_);
  val_ = load_split(ds_, val_idx, binning_);
  test_ = load_split(ds_, test_idx, binning_);
  class_mean_age_ = class_mean_ages(train_, binning_.num_classes(), binning_);
  if (val_.size() == 0) {
    spdlog::warn("{} has no val split: best-epoch selection and early stopping use the training loss", cfg_.data.prepared);
  }
  if (test_.size() == 0) {
    spdlog::warn("{} has no test split: no test metrics (summary.json test_* = null)", cfg_.data.prepared);
  }
  if (!req_.quiet) {
    spdlog::info("Data: {} train / {} val / {} test images at {}px {} from {} ({:.1f} s); age bins {}: {}", train_.size(),
                 val_.size(), test_.size(), cfg_.data.size, cfg_.data.color ? "color" : "gray", cfg_.data.prepared,
                 seconds_since(t0), binning_.strategy(), json(binning_.class_names()).dump());
  }
}

void Trainer::setup_model() {
  spec_.arch = cfg_.model.arch;
  spec_.head = cfg_.model.head;
  spec_.dropout = cfg_.model.dropout;
  spec_.in_channels = cfg_.data.color ? 3 : 1;
  spec_.input_size = cfg_.data.size;
  spec_.num_age_classes = cfg_.labels.age ? binning_.num_classes() : 0;
  spec_.gender_head = cfg_.labels.gender;
  spec_.trainable_conv_layers = cfg_.model.trainable_conv_layers;
  spec_.age_head = cfg_.model.age_head;
  loss_ = {cfg_.labels.gender_weight, spec_.age_head, cfg_.train.age_loss, cfg_.train.age_sigma};
  decoder_ = std::make_unique<HeadDecoder>(spec_, binning_);
  torch::manual_seed(cfg_.train.seed);  // weight initialisation
  model_ = build_model(spec_);
  input_.size = spec_.input_size;
  input_.channels = spec_.in_channels;
  input_.source_size = train_.source_size;
  input_.norm = Normalization::plain(spec_.in_channels);
  if (!cfg_.model.pretrained.empty() && is_face_resnet_tfjs(cfg_.model.pretrained)) {
    // face-api's face recognition weights (npm models folder or manifest) into face_resnet's features.
    const std::string manifest = face_recognition_manifest(cfg_.model.pretrained);
    load_face_resnet_features_tfjs(model_->feature_extractor(), read_tfjs_weights(manifest));
    input_.norm = face_resnet_normalization();
    spdlog::info("Pretrained: face-api face recognition features from {}", manifest);
  } else if (!cfg_.model.pretrained.empty()) {
    const StFile w = read_safetensors(cfg_.model.pretrained);
    const auto r = load_module_tensors(*model_, w, cfg_.model.pretrained, /*strict=*/true, "features.");
    input_.norm = Normalization::imagenet(spec_.in_channels);
    spdlog::info("Pretrained: {} tensors from {}{}", r.loaded, cfg_.model.pretrained,
                 r.ignored.empty() ? "" : fmt::format(" ({} classifier/head tensors skipped)", r.ignored.size()));
  }
  if (!req_.init_from.empty()) {
    const std::string path = fs::is_directory(req_.init_from) ? (fs::path(req_.init_from) / kBestCheckpoint).string() : req_.init_from;
    const StFile w = read_safetensors(path);
    load_module_tensors(*model_, w, path, /*strict=*/true, "", {kOptimizerPrefix});
    auto meta = w.metadata.find("agegender");
    if (meta != w.metadata.end()) {
      const json m = json::parse(meta->second);
      input_.norm = {m.at("normalization").at("mean").get<std::vector<float>>(), m.at("normalization").at("std").get<std::vector<float>>()};
      input_.validate(path);
    }
    spdlog::info("Initialised from {}", path);
  }
  model_->to(device_);
  opt_ = make_optimizer(*model_, cfg_.train);
  state_.lr = cfg_.train.lr;
  augment_ = cfg_.train.augment;
}

// Cached features when the layers below the model's cut are frozen and every augmentation is a flip.
void Trainer::setup_feature_cache() {
  if (model_->cut() <= 0) return;
  std::string why_not;
  if (cfg_.train.feature_cache == "off") {
    why_not = "train.feature_cache is \"off\"";
  } else if (const std::string pixels = augment_needing_pixels(augment_); !pixels.empty()) {
    why_not = pixels + " needs pixels (set train.augment.shift, brightness, contrast and downscale to 0 to cache; flips are cached)";
  }
  if (!why_not.empty()) {
    spdlog::info("Feature cache: not used, {}: every epoch runs the frozen layers below '{}' too", why_not,
                 model_->cut_name().empty() ? "the heads" : model_->cut_name());
    return;
  }
  FeatureCache::Options o;
  o.fp16 = cfg_.train.feature_cache_dtype == "fp16";
  o.device = device_;
  o.quiet = req_.quiet;
  cache_ = FeatureCache::open_or_build(*model_, ds_, input_, o);
  cache_summary_ = {{"path", cache_->path()}, {"built", cache_->built()}, {"build_seconds", cache_->build_seconds()},
                    {"shape", cache_->shape()}, {"dtype", cache_->fp16() ? "fp16" : "fp32"}};
  if (!req_.quiet) {
    spdlog::info("Feature cache: training {} above the cut from {}", model_->cut_name().empty() ? "the heads" : "'" + model_->cut_name() + "' and",
                 cache_->path());
  }
}

PredictionSet Trainer::score(const SplitData& split) {
  ScoreOptions o;
  o.batch_size = std::max(cfg_.train.batch_size, 256);
  o.gender_weight = cfg_.labels.gender_weight;
  o.device = device_;
  return cache_ ? predict_split_cached(*model_, *cache_, split, binning_, o) : predict_split(*model_, split, input_, binning_, o);
}

// Device-side settings of the step, made once the model, optimizer state and feature cache are in place.
void Trainer::setup_step() {
  StepSettings s;
  s.device = device_;
  s.amp = cfg_.train.amp;
  s.channels_last = cfg_.train.channels_last;
  s.cuda_graphs = cfg_.train.cuda_graphs;
  s.from_cut = cache_ != nullptr;
  s.loss = loss_;
  step_ = std::make_unique<TrainStep>(*model_, *opt_, *decoder_, s);
  if (device_.is_cuda() && !cache_) {
    device_augment_ = std::make_unique<DeviceAugment>(input_.norm, device_, /*augment=*/true);
  }
  if (!req_.quiet) {
    spdlog::info("Step: {}{}", TrainStep::describe(step_->settings()),
                 device_augment_ ? "; uint8 batches from pinned memory, augmented on the GPU" : "");
  }
}

// The fine-tune phase: from the best weights of the first phase (begin) or, on resume, from the last
// checkpoint, with train.finetune's layers, augmentation and learning rate; the optimizer starts afresh.
void Trainer::enter_finetune(bool begin) {
  const FinetuneConfig& ft = cfg_.train.finetune;
  step_.reset();
  device_augment_.reset();
  cache_.reset();
  opt_.reset();
  if (begin) {
    load_checkpoint((fs::path(run_dir_) / kBestCheckpoint).string(), *model_, nullptr);
    state_.finetune_from = state_.epoch;
    state_.bad_epochs = 0;
    state_.lr = next_lr(state_.epoch);
  }
  spec_.trainable_conv_layers = ft.trainable_conv_layers;
  model_->set_trainable_conv_layers(ft.trainable_conv_layers);
  augment_ = ft.augment;
  opt_ = make_optimizer(*model_, cfg_.train);
  set_lr(*opt_, state_.lr);
  if (!req_.quiet) {
    spdlog::info("Fine-tune: epochs {}-{}{}, trainable conv layers {}, lr {:.1e} peak", state_.finetune_from + 1, phase_last_epoch(),
                 begin ? fmt::format(" from the best epoch so far ({})", state_.best_epoch) : std::string(" (resumed)"),
                 ft.trainable_conv_layers < 0 ? "all" : std::to_string(ft.trainable_conv_layers), ft.lr);
  }
  setup_feature_cache();
  setup_step();
}

int Trainer::phase_last_epoch() const {
  return in_finetune() ? state_.finetune_from + cfg_.train.finetune.epochs : cfg_.train.epochs;
}

// The learning rate of the epoch after `epochs_done`.
double Trainer::next_lr(int epochs_done) const {
  if (!in_finetune()) return 0.5 * cfg_.train.lr * (1 + std::cos(M_PI * epochs_done / cfg_.train.epochs));  // cosine
  const FinetuneConfig& ft = cfg_.train.finetune;
  const int k = epochs_done - state_.finetune_from;  // fine-tune epochs done
  if (k < ft.warmup_epochs) return ft.lr * (k + 1) / (ft.warmup_epochs + 1);
  return 0.5 * ft.lr * (1 + std::cos(M_PI * (k - ft.warmup_epochs) / (ft.epochs - ft.warmup_epochs)));
}

// Epochs up to the current phase's last; false when paused by stop_after_epochs.
bool Trainer::run_phase(int& session_epochs) {
  const int last = phase_last_epoch();
  const int total = in_finetune() || cfg_.train.finetune.epochs == 0 ? last : last + cfg_.train.finetune.epochs;
  // Early stopping ends the first phase only: the fine-tune phase opens with a planned rise of the val
  // loss (new layers, new augmentation) and its fixed cosine schedule ends lowest in its last epochs.
  const bool may_stop = cfg_.train.patience > 0 && !in_finetune();
  if (may_stop && state_.bad_epochs >= cfg_.train.patience) return true;  // stopped early before a resume
  for (int epoch = state_.epoch + 1; epoch <= last; ++epoch) {
    end_epoch(train_epoch(epoch));
    if (may_stop && state_.bad_epochs >= cfg_.train.patience) {
      if (!req_.quiet) spdlog::info("Early stopping: val_loss has not improved for {} epochs (best epoch {})", state_.bad_epochs, state_.best_epoch);
      return true;
    }
    if (req_.stop_after_epochs > 0 && ++session_epochs >= req_.stop_after_epochs && epoch < total) {
      if (!req_.quiet) spdlog::info("Stopping after {} epochs as asked; continue with --resume {}", session_epochs, run_dir_);
      return false;
    }
  }
  return true;
}

EpochMetrics Trainer::train_epoch(int epoch) {
  torch::manual_seed(cfg_.train.seed * 1000003ULL + static_cast<uint64_t>(epoch));  // dropout: same per epoch on resume
  model_->train();
  std::unique_ptr<BatchLoader> pixels;
  std::unique_ptr<CachedBatchLoader> cached;
  if (cache_) {
    cached = std::make_unique<CachedBatchLoader>(*cache_, train_, cfg_.train.batch_size, /*shuffle=*/true, &augment_,
                                                 cfg_.train.seed, epoch);
  } else {
    const LoaderOutput output{device_augment_ != nullptr, device_augment_ != nullptr};
    pixels = std::make_unique<BatchLoader>(train_, input_, cfg_.train.batch_size, /*shuffle=*/true, &augment_,
                                           cfg_.train.seed, epoch, /*prefetch=*/3, output);
  }
  const int64_t num_batches = cached ? cached->num_batches() : pixels->num_batches();
  const auto t0 = std::chrono::steady_clock::now();
  StepTotals total;
  step_->take();
  Batch b;
  for (int64_t step = 1; cached ? cached->next(b) : pixels->next(b); ++step) {
    const torch::Tensor loss = step_->run(b, device_augment_.get());
    // Reading losses waits for the device: only for the progress line.
    if (!req_.quiet && (step % cfg_.train.log_interval == 0 || step == num_batches)) {
      total += step_->take();
      const long n = total.images;
      const double el = seconds_since(t0), rate = n / std::max(el, 1e-9);
      const int w = static_cast<int>(std::to_string(num_batches).size());
      spdlog::info("Train: {} [{:>{}}/{} ({:3.0f}%)]  Loss: {:.3f} ({:.3f})  {:.1f} s  {:.1f} img/s  LR {:.1e}  ETA {}", epoch,
                   step, w, num_batches, 100.0 * step / num_batches, loss.item<double>(), total.loss_sum / n, el,
                   rate, state_.lr, format_duration((train_.size() - n) / std::max(rate, 1e-9)));
    }
  }
  total += step_->take();
  const long n = std::max<long>(total.images, 1);
  EpochMetrics m;
  m.epoch = epoch;
  m.train_loss = total.loss_sum / n;
  m.train_acc = static_cast<double>(cfg_.labels.age ? total.age_correct : total.gender_correct) / n;
  m.seconds = seconds_since(t0);
  m.images_per_s = total.images / std::max(m.seconds, 1e-9);
  m.lr = state_.lr;
  return m;
}

json Trainer::checkpoint_meta() const {
  json cfg = tree_;
  return {{"format_version", 1}, {"model", spec_json(spec_)}, {"binning", binning_json(binning_)},
          {"input", input_.to_json()}, {"normalization", {{"mean", input_.norm.mean}, {"std", input_.norm.std}}},
          {"class_mean_age", class_mean_age_},
          {"state", state_.to_json()}, {"config", cfg}, {"config_hash", config_hash(tree_)},
          {"agegender_version", version()}};
}

void Trainer::end_epoch(EpochMetrics m) {
  if (!std::isfinite(m.train_loss)) {
    throw RuntimeError("training diverged: train_loss is " + std::to_string(m.train_loss) + " in epoch " +
                       std::to_string(m.epoch) + " (lower train.lr)");
  }
  const auto t_val = std::chrono::steady_clock::now();
  const bool has_val = val_.size() > 0;
  if (has_val) {
    const EvalMetrics v = compute_metrics(score(val_), class_mean_age_);
    m.val_loss = v.loss;
    m.val_acc = cfg_.labels.age ? v.accuracy : v.gender_accuracy;
    m.val_gender_acc = v.gender_accuracy;
  } else {
    m.val_loss = m.val_acc = m.val_gender_acc = NAN;  // absent, not zero: metrics.csv and summary.json leave them empty
  }
  // Without a val split, best epoch and early stopping go by the training loss (said once in setup_data).
  const double selection_loss = has_val ? m.val_loss : m.train_loss;
  state_.epoch = m.epoch;
  state_.seconds += m.seconds + seconds_since(t_val);
  const EpochVerdict verdict = judge_epoch(selection_loss, state_.best_val_loss, cfg_.train.min_delta, state_.best_epoch > 0);
  const bool improved = verdict.improved;
  if (!std::isfinite(selection_loss)) {
    spdlog::warn("Epoch {}: {} is {}; counted as not improved", m.epoch, has_val ? "val_loss" : "train_loss", selection_loss);
  }
  if (improved) {
    state_.best_val_loss = selection_loss;
    state_.bad_epochs = 0;
  } else {
    ++state_.bad_epochs;
  }
  if (verdict.save_best) {
    state_.best_epoch = m.epoch;
    state_.best_metrics = m;
  }
  // Learning rate for the next epoch.
  if (in_finetune() || cfg_.train.schedule == "cosine") {
    state_.lr = next_lr(m.epoch);
  } else if (cfg_.train.schedule == "plateau") {
    if (selection_loss < state_.plateau_best - 1e-12) {
      state_.plateau_best = selection_loss;
      state_.plateau_bad = 0;
    } else if (++state_.plateau_bad > cfg_.train.plateau_patience) {
      state_.lr *= cfg_.train.plateau_factor;
      state_.plateau_bad = 0;
    }
  }
  set_lr(*opt_, state_.lr);
  if (verdict.save_best) save_checkpoint((fs::path(run_dir_) / kBestCheckpoint).string(), *model_, nullptr, checkpoint_meta());
  save_checkpoint((fs::path(run_dir_) / kLastCheckpoint).string(), *model_, opt_.get(), checkpoint_meta());
  log_->append(m);
  tb_->add_scalar("train/loss", static_cast<float>(m.train_loss), m.epoch);
  tb_->add_scalar("train/acc", static_cast<float>(m.train_acc), m.epoch);
  tb_->add_scalar("train/images_per_s", static_cast<float>(m.images_per_s), m.epoch);
  tb_->add_scalar("lr", static_cast<float>(m.lr), m.epoch);
  if (has_val) {
    tb_->add_scalar("val/loss", static_cast<float>(m.val_loss), m.epoch);
    tb_->add_scalar("val/acc", static_cast<float>(m.val_acc), m.epoch);
    tb_->add_scalar("val/gender_acc", static_cast<float>(m.val_gender_acc), m.epoch);
  }
  tb_->flush();
  if (charts_available()) log_->write_curves((fs::path(run_dir_) / kCurvesFile).string());
  if (!req_.quiet) {
    const std::string val = has_val ? fmt::format("val_loss {:.4f} val_acc {:.4f} val_gender_acc {:.4f}", m.val_loss,
                                                  m.val_acc, m.val_gender_acc)
                                    : "no val split";
    spdlog::info("Epoch {}/{}  train_loss {:.4f} train_acc {:.4f} | {} | {:.1f} s {:.1f} img/s{}", m.epoch, phase_last_epoch(),
                 m.train_loss, m.train_acc, val, m.seconds, m.images_per_s, verdict.save_best ? "  *best" : "");
  }
}

json Trainer::finish() {
  // Restore the best weights and score them on the test split.
  const std::string best = (fs::path(run_dir_) / kBestCheckpoint).string();
  load_checkpoint(best, *model_, nullptr);
  // Age-share calibration (share_calibration.hpp), fitted on the validation split with the best weights
  // and stored in the best checkpoint, where eval and visitors find it with the model.
  // The age calibration (age_calibration.hpp, year heads) likewise, and the test split is scored with it.
  json share_weights = json::object();  // summary.json's age_share_weights / gender_share_weights
  AgeCalibration age_calibration;
  if (val_.size() > 0) {
    PredictionSet v = score(val_);
    json meta = read_checkpoint_meta(best);
    const ShareCalibrations shares = fit_share_calibrations(v, binning_.class_names());
    for (const auto& w : shares.warnings) spdlog::warn("Share calibration (validation split): {}", w);
    meta.erase("age_share_weights");
    meta.erase("gender_share_weights");
    meta.update(share_calibrations_json(shares, binning_.class_names(), false));
    share_weights = share_calibrations_json(shares, binning_.class_names(), true);
    if (!share_weights.empty()) spdlog::info("Share calibration (validation split): {}", share_weights.dump());
    if (!v.expected_age.empty()) {
      std::string why;
      if (const auto fit = fit_age_calibration(v.expected_age, v.true_age, &why)) {
        age_calibration = *fit;
        meta["age_calibration"] = age_calibration.to_json();
        const double raw_mae = compute_metrics(v, class_mean_age_).age_mae;
        age_calibration.apply_all(v.expected_age);
        spdlog::info("Age calibration (validation split): {} (validation age MAE {:.3f} -> {:.3f})",
                     age_calibration.to_json().dump(), raw_mae, compute_metrics(v, class_mean_age_).age_mae);
      } else {
        meta.erase("age_calibration");
        spdlog::warn("Age calibration not fitted on the validation split: {}; expected ages stay the network's own", why);
      }
    }
    if (v.num_classes > 0 || !v.female_prob.empty() || !v.expected_age.empty()) save_checkpoint(best, *model_, nullptr, meta);
  }
  EvalMetrics t;
  t.loss = t.accuracy = t.top2_accuracy = t.gender_accuracy = t.age_mae = NAN;  // no test split: null in summary.json
  if (test_.size() > 0) {
    PredictionSet tp = score(test_);
    age_calibration.apply_all(tp.expected_age);
    t = compute_metrics(tp, class_mean_age_);
    tb_->add_scalar("test/loss", static_cast<float>(t.loss), state_.best_epoch);
    tb_->add_scalar("test/acc", static_cast<float>(t.accuracy), state_.best_epoch);
    tb_->add_scalar("test/gender_acc", static_cast<float>(t.gender_accuracy), state_.best_epoch);
    tb_->flush();
  }
  const auto& b = state_.best_metrics;
  const auto rows = log_->rows();
  double ips = 0;
  for (const auto& r : rows) ips += r.images_per_s;
  json s = {{"epochs_run", state_.epoch}, {"epochs_max", cfg_.train.epochs + cfg_.train.finetune.epochs},
            {"best_epoch", state_.best_epoch}, {"stopped_early", state_.epoch < phase_last_epoch()},
            {"train_loss", b.train_loss}, {"train_acc", b.train_acc},
            {"val_loss", or_null(b.val_loss)}, {"val_acc", or_null(b.val_acc)}, {"val_gender_acc", or_null(b.val_gender_acc)},
            {"test_loss", or_null(t.loss)}, {"test_acc", or_null(t.accuracy)}, {"test_top2_accuracy", or_null(t.top2_accuracy)},
            {"test_gender_acc", or_null(t.gender_accuracy)}, {"test_age_mae", or_null(t.age_mae)}, {"test_images", t.n},
            {"seconds", state_.seconds}, {"images_per_s", rows.empty() ? 0.0 : ips / rows.size()},
            {"binning", binning_json(binning_)}, {"config", tree_}};
  if (cfg_.train.finetune.epochs > 0) {
    s["finetune"] = {{"from_epoch", state_.finetune_from}, {"epochs", state_.epoch - state_.finetune_from}};
  }
  if (!cache_summary_.is_null()) s["feature_cache"] = cache_summary_;
  s.update(share_weights);
  if (!age_calibration.identity()) s["age_calibration"] = age_calibration.to_json();  // fitted
  write_file_atomic((fs::path(run_dir_) / kSummaryFile).string(), s.dump(2) + "\n");
  return s;
}

TrainResult Trainer::run() {
  // Everything that can be wrong with the request is checked before the run directory exists.
  const bool resuming = !req_.resume_dir.empty();
  tree_ = resuming ? resume_config(req_) : req_.config;
  // Lock before reading the checkpoint: a second `train --resume` (or a sweep rerun beside an orphaned
  // point) would otherwise append the same epochs to metrics.csv.
  if (resuming) lock_ = std::make_unique<DirLock>(req_.resume_dir, "run");
  cfg_ = parse_config(tree_);
  threads_ = resolve_threads(cfg_.train.threads);
  torch::set_num_threads(threads_);
  tune_allocator();
  device_ = pick_device(cfg_.train.device, "config: 'train.device'");
  check_precision(cfg_.train.amp, device_);
  if (device_.is_cuda()) at::globalContext().setBenchmarkCuDNN(cfg_.train.cudnn_benchmark);
  if (!cfg_.model.pretrained.empty() && is_face_resnet_tfjs(cfg_.model.pretrained)) {
    if (cfg_.model.arch != "face_resnet" || !cfg_.data.color) {
      throw UsageError("config: 'model.pretrained' = \"" + cfg_.model.pretrained +
                       "\" holds face-api's face recognition weights: they need model.arch face_resnet and data.color true");
    }
    if (!fs::is_regular_file(face_recognition_manifest(cfg_.model.pretrained))) {
      throw UsageError("config: 'model.pretrained': " + face_recognition_manifest(cfg_.model.pretrained) +
                       " does not exist (scripts/fetch_face_models.sh fetches the face models)");
    }
  } else if (!cfg_.model.pretrained.empty() && !fs::is_regular_file(cfg_.model.pretrained)) {
    throw UsageError("config: 'model.pretrained' = \"" + cfg_.model.pretrained +
                     "\" does not exist (expected a .safetensors file, or for face_resnet the face models folder; "
                     "scripts/fetch_vgg16.sh downloads VGG16)");
  }
  if (!req_.init_from.empty() && !fs::exists(req_.init_from)) {
    throw UsageError("--init-from " + req_.init_from + ": no such run directory or .safetensors file");
  }
  setup_data();
  setup_model();

  json resume_meta;
  if (resuming) {
    run_dir_ = req_.resume_dir;
    const std::string last = (fs::path(run_dir_) / kLastCheckpoint).string();
    if (!fs::exists(last)) throw UsageError("--resume " + run_dir_ + ": no " + kLastCheckpoint + " (the run never finished an epoch)");
    // Weights first (a feature cache is built from the frozen layers' weights), the optimizer state once
    // the optimizer of the run's phase exists.
    resume_meta = load_checkpoint(last, *model_, nullptr);
    check_frozen_config(resume_meta, tree_, run_dir_);
    state_ = TrainState::from_json(resume_meta.at("state"));
    if (!req_.quiet) spdlog::info("Resuming {} after epoch {}", run_dir_, state_.epoch);
    if (in_finetune()) {
      enter_finetune(/*begin=*/false);
    } else {
      setup_feature_cache();
      setup_step();
    }
    load_checkpoint(last, *model_, opt_.get());
    set_lr(*opt_, state_.lr);
  } else {
    run_dir_ = create_run_dir(cfg_.output_dir, cfg_.name);
    lock_ = std::make_unique<DirLock>(run_dir_, "run");
    json cfg = tree_;
    cfg["provenance"] = provenance(req_, device_, threads_);
    write_file_atomic((fs::path(run_dir_) / kConfigFile).string(), cfg.dump(2) + "\n");
    setup_feature_cache();
    setup_step();
  }
  log_ = std::make_unique<MetricsLog>((fs::path(run_dir_) / "metrics.csv").string(), state_.epoch);
  tb_ = std::make_unique<TensorBoardWriter>(run_dir_);
  if (!req_.quiet) {
    int64_t trainable = 0, total = 0;
    for (const auto& p : model_->parameters()) {
      total += p.numel();
      if (p.requires_grad()) trainable += p.numel();
    }
    spdlog::info("Run {}: {} ({} head), {} params ({} trainable), {} on {} with {} threads", run_dir_, spec_.arch, spec_.head,
                 total, trainable, cfg_.train.optimizer, device_.str(), threads_);
  }

  int session_epochs = 0;
  if (!run_phase(session_epochs)) return {run_dir_, json(), false};
  if (cfg_.train.finetune.epochs > 0) {
    if (!in_finetune()) enter_finetune(/*begin=*/true);
    if (!run_phase(session_epochs)) return {run_dir_, json(), false};
  }
  return {run_dir_, finish(), true};
}

}  // namespace

std::string create_run_dir(const std::string& dir, const std::string& name) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw RuntimeError("cannot create output directory " + dir + ": " + ec.message());
  for (int i = 1; i < 10000; ++i) {
    const fs::path p = fs::path(dir) / (i == 1 ? name : name + "-" + std::to_string(i));
    // create_directory is atomic: exactly one of several parallel callers gets each name.
    if (fs::create_directory(p, ec)) return p.string();
    if (ec) throw RuntimeError("cannot create run directory " + p.string() + ": " + ec.message());
  }
  throw RuntimeError("too many runs named " + name + " in " + dir);
}

TrainResult train(const TrainRequest& request) { return Trainer(request).run(); }

}  // namespace agegender
