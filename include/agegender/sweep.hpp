#pragma once
// `agegender sweep`: a grid of --set overrides over one base config, each point a normal train + eval
// in runs/<sweep>/<point>/, rerunnable (finished points skipped, interrupted ones resumed), plus tables.
// Points run here as child processes, or on a cluster as one Slurm job array (see slurm.hpp).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agegender/report.hpp"

namespace agegender {

struct SweepPoint {
  std::string name;                    // e.g. "lr=0.001_batch_size=64"
  std::vector<std::string> overrides;  // "train.lr=0.001", ...
};

/// GRID is {"key.path": [v1, v2], ...} (cartesian product, keys in file order) or {"runs": [{...}, ...]}
/// (explicit override sets). Throws UsageError naming the problem.
std::vector<SweepPoint> expand_grid(const nlohmann::ordered_json& grid);

struct SlurmOptions {
  bool enabled = false;
  std::string partition;                 // --partition; "" = the cluster's default
  int gpus_per_task = 0;                 // --gpus-per-task; 0 = none requested
  int cpus_per_task = 0;                 // --cpus-per-task; 0 = the cluster's default (points use what they get)
  std::string time;                      // --time limit per point, Slurm syntax ("90", "4:00:00", "1-12:00:00")
  std::vector<std::string> sbatch_args;  // extra #SBATCH options, e.g. "--mem=16G", "--account=lab"
  bool wait = false;                     // block until the array and its table job have finished
};

struct SweepOptions {
  std::string config;                // base config file
  std::string grid;                  // grid file
  std::vector<std::string> sets;     // extra overrides for every point
  std::string name;                  // sweep name (default: the grid file's stem)
  int jobs = 0;                      // points at once; 0 = 1 locally, unthrottled on Slurm
  bool dry_run = false;
  bool quiet = false;
  std::string executable;            // this agegender binary (points run as child processes / array tasks)
  SlurmOptions slurm;
};

/// Where a point stands, read from its run directory.
enum class PointStatus {
  Done,      // summary.json + eval.json
  Evaluate,  // trained (summary.json), not evaluated
  Resume,    // interrupted after a checkpoint (last.safetensors + config.json)
  Fresh,     // nothing usable: (re)start from scratch
};
PointStatus point_status(const std::string& run_dir);
const char* status_label(PointStatus s);

struct PlannedPoint {
  SweepPoint point;
  std::string dir;             // runs/<sweep>/<point>
  PointStatus status;
  nlohmann::json config;       // the point's full, validated config (output.dir/name point at `dir`)
};

struct SweepPlan {
  std::string name, dir;  // sweep name and runs/<sweep>
  std::vector<PlannedPoint> points;
};

/// Reads the grid and validates every point's full config before anything runs (UsageError naming
/// the point otherwise).
SweepPlan plan_sweep(const SweepOptions& options);

struct SweepResult {
  std::string dir;
  size_t points = 0, skipped = 0, resumed = 0, failed = 0;
  std::string plan;  // one line per point: status and command (the dry-run output)
  std::string table_md;
};

/// Runs the unfinished points here, `jobs` at a time, each with cores / jobs threads.
SweepResult run_sweep(const SweepOptions& options);


}  // namespace agegender
