#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "agegender/error.hpp"
#include "agegender/slurm.hpp"
#include "agegender/sweep.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {
namespace {

// Points run as child processes (or Slurm array tasks) of this very binary.
std::string self_executable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw RuntimeError("cannot find the agegender executable (/proc/self/exe): " + ec.message());
  return p.string();
}

void run_local(const SweepOptions& o) {
  const SweepResult r = run_sweep(o);
  if (o.dry_run) {
    std::printf("%s", r.plan.c_str());
    return;
  }
  std::printf("%s", r.table_md.c_str());
  std::fprintf(stderr, "sweep %s: %zu points (%zu already done, %zu resumed, %zu failed); tables in %s\n", r.dir.c_str(),
               r.points, r.skipped, r.resumed, r.failed, r.dir.c_str());
  if (r.failed > 0) throw RuntimeError(std::to_string(r.failed) + " sweep point(s) failed; rerun the same command to retry them");
}

void run_slurm(const SweepOptions& o) {
  const SlurmSubmission r = submit_slurm_sweep(o);
  if (r.submitted == 0) {
    std::printf("%s", r.table_md.c_str());
    std::fprintf(stderr, "sweep %s: all %zu points are done, nothing to submit; tables in %s\n", r.dir.c_str(), r.points,
                 r.dir.c_str());
    return;
  }
  if (o.dry_run) {
    std::printf("%s", r.scripts.c_str());
    return;
  }
  if (!o.slurm.wait) {
    std::printf("%s %s\n", r.array_job.c_str(), r.table_job.c_str());
    std::fprintf(stderr, "sweep %s: %zu of %zu points submitted (array job %s, table job %s); when both have left squeue: %s/table.md\n",
                 r.dir.c_str(), r.submitted, r.points, r.array_job.c_str(), r.table_job.c_str(), r.dir.c_str());
    return;
  }
  std::printf("%s", r.table_md.c_str());
  std::fprintf(stderr, "sweep %s: %zu points, %zu submitted as array job %s, %zu failed; tables in %s\n", r.dir.c_str(), r.points,
               r.submitted, r.array_job.c_str(), r.failed, r.dir.c_str());
  if (r.failed > 0) {
    throw RuntimeError(std::to_string(r.failed) + " sweep point(s) did not finish; see " + r.dir +
                       "/logs/ and rerun the same command to resubmit them");
  }
}

}  // namespace

void add_sweep(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* cmd = app.add_subcommand("sweep", "Train + eval every point of a grid of overrides; writes table.md/table.csv");
  cmd->add_option("--config,-c", o->config, "Base experiment config");
  cmd->add_option("--grid", o->grid, "Grid JSON: {\"key.path\": [values...]} or {\"runs\": [{overrides}, ...]}")->required();
  cmd->add_option("--set,-s", o->sets, "Override applied to every point; repeatable");
  cmd->add_option("--name", o->name, "Sweep name: runs/<name>/<point>/ (default: the grid file's name)");
  cmd->add_option("--jobs,-j", o->jobs, "Points at once (locally: default 1, each gets cores/jobs threads; "
                                        "Slurm: array throttle, default none)")->check(CLI::PositiveNumber);
  cmd->add_flag("--dry-run", o->dry_run, "Print each point's status and command (with --slurm: the job scripts), run nothing");
  cmd->add_flag("--quiet,-q", o->quiet, "No progress lines");

  SlurmOptions& s = o->slurm;
  CLI::Option* slurm = cmd->add_flag("--slurm", s.enabled, "Submit the unfinished points as a Slurm job array (sbatch) "
                                                         "plus a job that writes the tables when it ends");
  const std::string group = "Slurm (with --slurm)";
  cmd->add_option("--partition", s.partition, "Slurm partition")->needs(slurm)->group(group);
  cmd->add_option("--gpus-per-task", s.gpus_per_task, "GPUs per point")->needs(slurm)->group(group);
  cmd->add_option("--cpus-per-task", s.cpus_per_task, "CPUs per point; its training uses them all (default: cluster's)")
      ->needs(slurm)->group(group);
  cmd->add_option("--time", s.time, "Time limit per point: MINUTES, HH:MM:SS or D-HH:MM:SS")->needs(slurm)->group(group);
  cmd->add_option("--sbatch-arg", s.sbatch_args, "Extra sbatch option for both jobs, e.g. --sbatch-arg=--mem=16G; repeatable")
      ->needs(slurm)->group(group);
  cmd->add_flag("--wait", s.wait, "Block until the array and the table job have finished, then print the table")
      ->needs(slurm)->group(group);
  cmd->callback([o] {
    o->executable = self_executable();
    if (o->slurm.enabled) {
      run_slurm(*o);
    } else {
      run_local(*o);
    }
  });

  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  CLI::App* table = app.add_subcommand("table", "Rebuild the result table from run or sweep directories");
  table->add_option("runs", *dirs, "Run directories, or sweep directories holding runs")->required();
  table->add_option("--out", *out, "Also write table.md and table.csv into this directory");
  table->callback([dirs, out] {
    if (!out->empty()) std::filesystem::create_directories(*out);
    std::printf("%s", build_table(*dirs, *out).c_str());
  });
}

}  // namespace agegender::cli
