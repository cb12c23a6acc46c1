#include "agegender/slurm.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "agegender/atomic_file.hpp"
#include "agegender/error.hpp"
#include "agegender/process.hpp"
#include "sweep/fs_guard.hpp"

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

constexpr const char* kJobsFile = "jobs.json";  // under runs/<sweep>/slurm/: the last submission's ids

// The #SBATCH lines both scripts share: where to run and what the user added for their cluster.
std::string common_directives(const SlurmOptions& s, const std::string& workdir) {
  std::string d = "#SBATCH --chdir=" + shell_quote(workdir) + "\n";
  if (!s.partition.empty()) d += "#SBATCH --partition=" + s.partition + "\n";
  for (const auto& a : s.sbatch_args) d += "#SBATCH " + a + "\n";
  return d;
}

std::string array_script(const SweepPlan& plan, const SweepOptions& o, const std::string& workdir,
                         const std::string& exe, const std::vector<std::string>& points) {
  const SlurmOptions& s = o.slurm;
  const fs::path dir = plan.dir;
  std::string t = "#!/bin/bash\n";
  t += "# agegender sweep '" + plan.name + "': one array task per unfinished point, written by `agegender sweep --slurm`.\n";
  t += "# Task i trains and evaluates points[i]; resubmitting the sweep skips finished points and resumes\n";
  t += "# interrupted ones. Run one point by hand with SLURM_ARRAY_TASK_ID=i bash " + (dir / "slurm" / "sweep.sbatch").string() + "\n";
  t += "#SBATCH --job-name=" + shell_quote("agegender-" + plan.name) + "\n";
  t += "#SBATCH --array=0-" + std::to_string(points.size() - 1) + (o.jobs > 0 ? "%" + std::to_string(o.jobs) : "") + "\n";
  t += "#SBATCH --output=" + shell_quote((dir / "logs" / "slurm-%A_%a.out").string()) + "\n";
  t += "#SBATCH --open-mode=append\n";
  t += "#SBATCH --requeue\n";
  if (s.cpus_per_task > 0) t += "#SBATCH --cpus-per-task=" + std::to_string(s.cpus_per_task) + "\n";
  if (s.gpus_per_task > 0) t += "#SBATCH --gpus-per-task=" + std::to_string(s.gpus_per_task) + "\n";
  if (!s.time.empty()) t += "#SBATCH --time=" + s.time + "\n";
  t += common_directives(s, workdir);
  t += "set -euo pipefail\n\n";
  t += "agegender=" + shell_quote(exe) + "\n";
  t += "sweep_dir=" + shell_quote(dir.string()) + "\n";
  t += "points=(\n";
  for (const auto& p : points) t += "  " + shell_quote(p) + "\n";
  t += ")\n";
  t += ": \"${SLURM_ARRAY_TASK_ID:?submit with sbatch, or set SLURM_ARRAY_TASK_ID to a point index}\"\n";
  t += "point=${points[$SLURM_ARRAY_TASK_ID]}\n";
  t += "run=\"$sweep_dir/$point\"\n";
  t += "threads=${SLURM_CPUS_PER_TASK:-$(nproc)}\n";
  t += "log=\"$sweep_dir/logs/$point.log\"\n";
  t += "echo \"point $point (array task $SLURM_ARRAY_TASK_ID on $(hostname), $threads threads): log $log\"\n";
  t += "exec >>\"$log\" 2>&1\n\n";
  t += "# The local sweep's rules: done -> skip, trained -> eval only, checkpoint -> resume, else from scratch.\n";
  t += "if [[ -f $run/summary.json && -f $run/eval.json ]]; then\n";
  t += "  echo \"$point: already done\"\n";
  t += "  exit 0\n";
  t += "elif [[ -f $run/summary.json ]]; then\n";
  t += "  echo \"$point: trained, evaluating\"\n";
  t += "elif [[ -f $run/last.safetensors && -f $run/config.json ]]; then\n";
  t += "  \"$agegender\" train --resume \"$run\" --threads \"$threads\" --quiet\n";
  t += "else\n";
  t += "  rm -rf -- \"$run\"\n";
  t += "  \"$agegender\" train --config \"$sweep_dir/slurm/points/$point.json\" --threads \"$threads\" --quiet\n";
  t += "fi\n";
  t += "\"$agegender\" eval --run \"$run\" --split test --threads \"$threads\"\n";
  return t;
}

std::string table_script(const SweepPlan& plan, const SweepOptions& o, const std::string& workdir, const std::string& exe) {
  const fs::path dir = plan.dir;
  std::string t = "#!/bin/bash\n";
  t += "# agegender sweep '" + plan.name + "': the result table, once the array job has ended (whatever its outcome).\n";
  t += "#SBATCH --job-name=" + shell_quote("agegender-" + plan.name + "-table") + "\n";
  t += "#SBATCH --output=" + shell_quote((dir / "logs" / "slurm-table-%j.out").string()) + "\n";
  t += "#SBATCH --cpus-per-task=1\n";
  if (!o.slurm.time.empty()) t += "#SBATCH --time=10\n";
  t += common_directives(o.slurm, workdir);
  t += "set -euo pipefail\n";
  t += shell_line({exe, "table", dir.string(), "--out", dir.string()}) + "\n";
  return t;
}

std::string job_id(const CapturedProcess& p, const std::string& what) {
  // --parsable prints "id" or "id;cluster".
  static const std::regex id(R"((^|\n)(\d+)(;[^\n]*)?\n?$)");
  std::smatch m;
  if (p.exit_code != 0 || !std::regex_search(p.output, m, id)) {
    throw RuntimeError("sbatch failed to submit the " + what + " (exit " + std::to_string(p.exit_code) + "): " + p.output);
  }
  return m[2];
}

// Job ids of `ids` still known to squeue (queued, running, completing).
std::vector<std::string> still_queued(const std::string& squeue, const std::vector<std::string>& ids) {
  std::string list;
  for (const auto& i : ids) list += (list.empty() ? "" : ",") + i;
  const CapturedProcess p = capture_process({squeue, "--noheader", "--array", "--format=%F", "--jobs=" + list});
  std::vector<std::string> out;
  if (p.exit_code != 0) return out;  // squeue rejects ids it no longer knows: they are gone
  for (const auto& i : ids) {
    if (std::regex_search(p.output, std::regex("(^|\\n)" + i + "\\s"))) out.push_back(i);
  }
  return out;
}

void refuse_if_running(const fs::path& jobs_file, const std::string& squeue) {
  if (squeue.empty() || !fs::exists(jobs_file)) return;
  std::ifstream in(jobs_file);
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("array_job")) return;
  const auto busy = still_queued(squeue, {j.value("array_job", ""), j.value("table_job", "")});
  if (!busy.empty()) {
    std::string ids;
    for (const auto& b : busy) ids += (ids.empty() ? "" : ",") + b;
    throw RuntimeError("this sweep's previous Slurm jobs are still queued or running (" + ids +
                       "): wait for them (squeue -j " + ids + ") or cancel them (scancel " + ids + ") before resubmitting");
  }
}

void write_executable(const std::string& path, const std::string& text) {
  write_file_atomic(path, text);
  ::chmod(path.c_str(), 0755);
}

}  // namespace

void validate_slurm_options(const SlurmOptions& s) {
  static const std::regex time_re(R"(^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+(:\d{1,2}(:\d{1,2})?)?|UNLIMITED|INFINITE)$)");
  if (!s.time.empty() && !std::regex_match(s.time, time_re)) {
    throw UsageError("--time '" + s.time + "': expected a Slurm time limit: MINUTES, MM:SS, HH:MM:SS or D-HH[:MM[:SS]]");
  }
  static const std::regex name_re(R"(^[A-Za-z0-9_.,-]+$)");
  if (!s.partition.empty() && !std::regex_match(s.partition, name_re)) {
    throw UsageError("--partition '" + s.partition + "': expected a partition name (letters, digits, '_', '-', '.', ',')");
  }
  if (s.gpus_per_task < 0) throw UsageError("--gpus-per-task must be >= 0, got " + std::to_string(s.gpus_per_task));
  if (s.cpus_per_task < 0) throw UsageError("--cpus-per-task must be >= 0, got " + std::to_string(s.cpus_per_task));
  for (const auto& a : s.sbatch_args) {
    if (a.rfind("--", 0) != 0 || a.find('\n') != std::string::npos) {
      throw UsageError("--sbatch-arg '" + a + "': expected one long sbatch option such as --mem=16G or --account=NAME");
    }
    for (const char* owned : {"--array", "--output", "--chdir", "--job-name", "--dependency"}) {
      if (a.rfind(owned, 0) == 0) throw UsageError("--sbatch-arg '" + a + "': " + owned + " is set by agegender sweep itself");
    }
  }
}

SlurmScripts slurm_scripts(const SweepPlan& plan, const SweepOptions& o, const std::string& workdir) {
  SlurmScripts s;
  const fs::path slurm_dir = fs::path(plan.dir) / "slurm";
  for (const auto& p : plan.points) {
    if (p.status == PointStatus::Done) continue;
    s.points.push_back(p.point.name);
    s.point_configs.emplace_back((slurm_dir / "points" / (p.point.name + ".json")).string(), p.config.dump(2) + "\n");
  }
  if (s.points.empty()) return s;
  s.array_path = (slurm_dir / "sweep.sbatch").string();
  s.table_path = (slurm_dir / "table.sbatch").string();
  s.array_script = array_script(plan, o, workdir, o.executable, s.points);
  s.table_script = table_script(plan, o, workdir, o.executable);
  return s;
}

namespace {

SlurmSubmission submit(const SweepOptions& o) {
  validate_slurm_options(o.slurm);
  SweepPlan plan = plan_sweep(o);
  const std::string workdir = fs::current_path().string();
  plan.dir = fs::absolute(plan.dir).lexically_normal().string();
  for (auto& p : plan.points) {
    p.dir = (fs::path(plan.dir) / p.point.name).string();
    p.config["output"]["dir"] = plan.dir;
  }
  SlurmSubmission r;
  r.dir = plan.dir;
  r.points = plan.points.size();
  const SlurmScripts scripts = slurm_scripts(plan, o, workdir);
  r.submitted = scripts.points.size();
  if (o.slurm.gpus_per_task > 0) {
    for (const auto& p : plan.points) {
      if (p.config["train"]["device"] == "cpu") {
        spdlog::warn("--gpus-per-task {} but point {} has train.device \"cpu\": it will not use the GPU "
                     "(add --set train.device=cuda)", o.slurm.gpus_per_task, p.point.name);
        break;
      }
    }
  }
  if (scripts.points.empty()) {  // every point is done: nothing to submit, just the table
    r.table_md = build_table({plan.dir}, o.dry_run ? "" : plan.dir);
    return r;
  }
  if (o.dry_run) {
    r.scripts = "# " + scripts.array_path + "\n" + scripts.array_script + "\n# " + scripts.table_path +
                " (submitted with --dependency=afterany:<array job>)\n" + scripts.table_script;
    return r;
  }

  const std::string sbatch = find_executable("sbatch");
  if (sbatch.empty()) {
    throw RuntimeError("--slurm: 'sbatch' not found in PATH; run on a Slurm login node, or use --dry-run to print the job scripts");
  }
  const std::string squeue = find_executable("squeue");
  const fs::path slurm_dir = fs::path(plan.dir) / "slurm";
  refuse_if_running(slurm_dir / kJobsFile, squeue);

  fs::create_directories(fs::path(plan.dir) / "logs");
  fs::create_directories(slurm_dir / "points");
  for (const auto& [path, text] : scripts.point_configs) write_file_atomic(path, text);
  write_executable(scripts.array_path, scripts.array_script);
  write_executable(scripts.table_path, scripts.table_script);

  r.array_job = job_id(capture_process({sbatch, "--parsable", scripts.array_path}), "job array " + scripts.array_path);
  r.table_job = job_id(capture_process({sbatch, "--parsable", "--dependency=afterany:" + r.array_job,
                                        "--kill-on-invalid-dep=yes", scripts.table_path}),
                       "table job " + scripts.table_path);
  write_file_atomic((slurm_dir / kJobsFile).string(),
                    json{{"array_job", r.array_job}, {"table_job", r.table_job}, {"points", scripts.points}}.dump(2) + "\n");
  if (!o.quiet) {
    spdlog::info("Sweep {}: submitted {} point(s) as Slurm array job {} (table job {} runs after it); "
                 "follow with: squeue -j {},{}", plan.name, r.submitted, r.array_job, r.table_job, r.array_job, r.table_job);
  }
  if (!o.slurm.wait) return r;

  if (squeue.empty()) throw RuntimeError("--wait: 'squeue' not found in PATH");
  for (int step = 1; !still_queued(squeue, {r.array_job, r.table_job}).empty();) {
    std::this_thread::sleep_for(std::chrono::seconds(step));
    step = std::min(step * 2, 15);
  }
  for (const auto& p : plan.points) r.failed += point_status(p.dir) != PointStatus::Done;
  if (fs::exists(fs::path(plan.dir) / "table.md")) {
    std::ifstream in(fs::path(plan.dir) / "table.md");
    r.table_md.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return r;
}

}  // namespace

SlurmSubmission submit_slurm_sweep(const SweepOptions& o) {
  return filesystem_errors_as_runtime("sweep --slurm", [&] { return submit(o); });
}

}  // namespace agegender
