#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "agegender/config.hpp"
#include "agegender/dir_lock.hpp"
#include "agegender/error.hpp"
#include "agegender/process.hpp"
#include "agegender/sweep.hpp"
#include "agegender/threads.hpp"
#include "sweep/fs_guard.hpp"

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;

PointStatus point_status(const std::string& run_dir) {
  const fs::path dir(run_dir);
  if (fs::exists(dir / "summary.json")) return fs::exists(dir / "eval.json") ? PointStatus::Done : PointStatus::Evaluate;
  if (fs::exists(dir / "last.safetensors") && fs::exists(dir / "config.json")) return PointStatus::Resume;
  return PointStatus::Fresh;
}

const char* status_label(PointStatus s) {
  switch (s) {
    case PointStatus::Done: return "done, skipped";
    case PointStatus::Evaluate: return "eval";
    case PointStatus::Resume: return "resume";
    case PointStatus::Fresh: return "train";
  }
  return "?";
}

namespace {

SweepPlan make_plan(const SweepOptions& o) {
  if (o.jobs < 0) throw UsageError("--jobs must be >= 1");
  std::ifstream in(o.grid);
  if (!in || fs::is_directory(o.grid)) throw UsageError("--grid " + o.grid + ": file not found");
  std::stringstream text;
  text << in.rdbuf();
  check_json_depth(text.str(), "--grid " + o.grid);
  nlohmann::ordered_json grid = nlohmann::ordered_json::parse(text.str(), nullptr, false);
  if (grid.is_discarded()) throw UsageError("--grid " + o.grid + ": not valid JSON (or a number out of range)");
  const std::vector<SweepPoint> points = expand_grid(grid);

  SweepPlan plan;
  plan.name = o.name.empty() ? fs::path(o.grid).stem().string() : o.name;
  for (const auto& p : points) {
    std::vector<std::string> sets = o.sets;
    sets.insert(sets.end(), p.overrides.begin(), p.overrides.end());
    json tree;
    try {
      tree = resolve_config_tree(o.config, sets);
    } catch (const UsageError& e) {
      throw UsageError("sweep point '" + p.name + "': " + e.what());
    }
    if (plan.dir.empty()) plan.dir = (fs::path(tree["output"]["dir"].get<std::string>()) / plan.name).string();
    const std::string dir = (fs::path(plan.dir) / p.name).string();
    tree["output"]["dir"] = plan.dir;
    tree["name"] = p.name;
    plan.points.push_back({p, dir, point_status(dir), std::move(tree)});
  }
  return plan;
}

SweepResult run_here(const SweepOptions& o) {
  const SweepPlan plan = make_plan(o);
  const int jobs_at_once = o.jobs > 0 ? o.jobs : 1;
  SweepResult r;
  r.dir = plan.dir;
  r.points = plan.points.size();
  const int threads = std::max(1, resolve_threads(0) / jobs_at_once);

  struct Job {
    const PlannedPoint* point;
    std::vector<std::string> train, eval;
  };
  std::vector<Job> jobs;
  for (const auto& p : plan.points) {
    Job j{&p, {}, {}};
    if (p.status == PointStatus::Resume) {
      j.train = {o.executable, "train", "--resume", p.dir, "--threads", std::to_string(threads), "--quiet"};
    } else if (p.status == PointStatus::Fresh) {
      j.train = {o.executable, "train"};
      if (!o.config.empty()) j.train.insert(j.train.end(), {"--config", o.config});
      for (const auto& s : o.sets) j.train.insert(j.train.end(), {"--set", s});
      for (const auto& s : p.point.overrides) j.train.insert(j.train.end(), {"--set", s});
      j.train.insert(j.train.end(), {"--set", "output.dir=" + json(plan.dir).dump(), "--set",
                                     "name=" + json(p.point.name).dump(), "--threads", std::to_string(threads), "--quiet"});
    }
    if (p.status != PointStatus::Done) {
      j.eval = {o.executable, "eval", "--run", p.dir, "--split", "test", "--threads", std::to_string(threads)};
    }
    const auto& shown = j.train.empty() ? j.eval : j.train;
    r.plan += p.point.name + "  [" + status_label(p.status) + "]" + (shown.empty() ? "" : "  " + shell_line(shown)) + "\n";
    r.skipped += p.status == PointStatus::Done;
    r.resumed += p.status == PointStatus::Resume;
    jobs.push_back(std::move(j));
  }
  if (o.dry_run) return r;

  fs::create_directories(fs::path(plan.dir) / "logs");
  // One sweep at a time per directory: a second identical command would train the same points twice.
  const DirLock lock(plan.dir, "sweep");
  std::atomic<size_t> failed{0};
  std::mutex log_mu;
  parallel_for(jobs.size(), jobs_at_once, [&](size_t i, int) {
    const Job& j = jobs[i];
    const PlannedPoint& p = *j.point;
    if (p.status == PointStatus::Done) return;
    const std::string log = (fs::path(plan.dir) / "logs" / (p.point.name + ".log")).string();
    // A point that died before finishing its first epoch has nothing to resume: start it again, unless a
    // trainer left behind by an earlier, killed sweep still writes it.
    if (p.status == PointStatus::Fresh && fs::exists(p.dir)) {
      const std::string holder = dir_lock_holder(p.dir);
      if (!holder.empty()) {
        ++failed;
        std::lock_guard<std::mutex> lock(log_mu);
        spdlog::error("Sweep {}: point {} is still being trained by {}; not restarting it", plan.name, p.point.name, holder);
        return;
      }
      fs::remove_all(p.dir);
    }
    if (!o.quiet) {
      std::lock_guard<std::mutex> lock(log_mu);
      spdlog::info("Sweep {}: {} ({}), log {}", plan.name, p.point.name, status_label(p.status), log);
    }
    int rc = j.train.empty() ? 0 : run_process(j.train, log);
    if (rc == 0) rc = run_process(j.eval, log);
    if (rc != 0) {
      ++failed;
      std::lock_guard<std::mutex> lock(log_mu);
      spdlog::error("Sweep {}: point {} failed (exit {}); see {}", plan.name, p.point.name, rc, log);
    }
  });
  r.failed = failed;
  std::vector<std::string> dirs;
  for (const auto& p : plan.points) {
    if (fs::exists(fs::path(p.dir) / "summary.json")) dirs.push_back(p.dir);
  }
  if (!dirs.empty()) r.table_md = build_table(dirs, plan.dir);
  return r;
}

}  // namespace

SweepPlan plan_sweep(const SweepOptions& o) {
  return filesystem_errors_as_runtime("sweep", [&] { return make_plan(o); });
}

SweepResult run_sweep(const SweepOptions& o) {
  return filesystem_errors_as_runtime("sweep", [&] { return run_here(o); });
}

}  // namespace agegender
