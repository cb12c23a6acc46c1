#pragma once
// `agegender sweep`: a grid of --set overrides over one base config, each point a normal train + eval
// in runs/<sweep>/<point>/, rerunnable (finished points skipped, interrupted ones resumed), plus tables.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace agegender {

struct SweepPoint {
  std::string name;                    // e.g. "lr=0.001_batch_size=64"
  std::vector<std::string> overrides;  // "train.lr=0.001", ...
};

/// GRID is {"key.path": [v1, v2], ...} (cartesian product, keys in file order) or {"runs": [{...}, ...]}
/// (explicit override sets). Throws UsageError naming the problem.
std::vector<SweepPoint> expand_grid(const nlohmann::ordered_json& grid);

struct SweepOptions {
  std::string config;                // base config file
  std::string grid;                  // grid file
  std::vector<std::string> sets;     // extra overrides for every point
  std::string name;                  // sweep name (default: the grid file's stem)
  int jobs = 1;                      // points run at once (each gets cores / jobs threads)
  bool dry_run = false;
  bool quiet = false;
  std::string executable;            // this agegender binary (points run as child processes)
};

struct SweepResult {
  std::string dir;
  size_t points = 0, skipped = 0, resumed = 0, failed = 0;
  std::string plan;  // one line per point: status and command (the dry-run output)
  std::string table_md;
};

SweepResult run_sweep(const SweepOptions& options);

/// The seed-format table over run directories (a sweep directory expands to its points); writes
/// table.md / table.csv when `out_dir` is not empty. Marks the best test accuracy with "**".
std::string build_table(const std::vector<std::string>& run_dirs, const std::string& out_dir, size_t* rows = nullptr);

}  // namespace agegender
