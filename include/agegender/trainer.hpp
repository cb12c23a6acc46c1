#pragma once
// `agegender train`: one run directory per training run (see README for its files).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace agegender {

struct TrainRequest {
  nlohmann::json config;                  // resolved config tree (new runs)
  std::string resume_dir;                 // continue this run from its last checkpoint
  std::vector<std::string> resume_overrides;  // only train.threads / device / log_interval and the speed settings (amp, ...)
  std::string init_from;                  // start a new run from these weights (.safetensors or run dir)
  std::string command_line;               // recorded in config.json
  int stop_after_epochs = 0;              // end this session after N epochs, resumable (0 = run to the end)
  bool quiet = false;
};

struct TrainResult {
  std::string run_dir;
  nlohmann::json summary;  // summary.json
  bool finished = false;   // false when stopped by stop_after_epochs
};

/// Throws UsageError (bad config, missing data, bad resume) before writing anything, RuntimeError later.
TrainResult train(const TrainRequest& request);

/// Creates `<dir>/<name>`, or `<name>-2`, `-3`... atomically (safe for parallel sweeps).
std::string create_run_dir(const std::string& dir, const std::string& name);

}  // namespace agegender
