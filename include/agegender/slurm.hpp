#pragma once
// `agegender sweep --slurm`: a sweep's unfinished points as one Slurm job array (task i runs
// `agegender train` + `agegender eval` on point i, with the local sweep's skip/resume rules), plus a
// job that depends on the array and writes runs/<sweep>/table.md and table.csv when it ends.
#include <string>
#include <vector>

#include "agegender/sweep.hpp"

namespace agegender {

/// Throws UsageError naming the flag when a Slurm option is malformed.
void validate_slurm_options(const SlurmOptions& s);

struct SlurmScripts {
  std::vector<std::string> points;  // point names, in array-index order
  std::string array_path, array_script;
  std::string table_path, table_script;
  std::vector<std::pair<std::string, std::string>> point_configs;  // path, frozen config JSON
};

/// The job scripts for the unfinished points of `plan`; `workdir` becomes the jobs' working directory
/// (relative paths in the configs resolve from there). Paths are absolute; nothing is written.
SlurmScripts slurm_scripts(const SweepPlan& plan, const SweepOptions& options, const std::string& workdir);

struct SlurmSubmission {
  std::string dir;
  size_t points = 0, submitted = 0, failed = 0;
  std::string array_job, table_job;  // Slurm job ids ("" when nothing was submitted)
  std::string scripts;               // --dry-run: the scripts that would be submitted
  std::string table_md;              // when --wait, or when every point was already done
};

/// Writes the scripts and the frozen point configs under runs/<sweep>/slurm/, submits them with
/// sbatch (refusing while this sweep's previous jobs are still queued or running) and, with `wait`,
/// polls squeue until both jobs have left the queue.
SlurmSubmission submit_slurm_sweep(const SweepOptions& options);

}  // namespace agegender
