#include <fcntl.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "agegender/config.hpp"
#include "agegender/error.hpp"
#include "agegender/sweep.hpp"
#include "agegender/threads.hpp"

extern char** environ;

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

enum class Status { Done, Resume, Fresh };

Status point_status(const fs::path& dir) {
  if (fs::exists(dir / "summary.json") && fs::exists(dir / "eval.json")) return Status::Done;
  if (fs::exists(dir / "last.safetensors") && fs::exists(dir / "config.json")) return Status::Resume;
  return Status::Fresh;
}

// Runs argv with stdout and stderr appended to `log`; returns the exit code.
int run_process(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw RuntimeError("cannot start " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string shell_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    const bool plain = a.find_first_of(" \"'$\\{}[],") == std::string::npos;
    s += (s.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
  }
  return s;
}

}  // namespace

SweepResult run_sweep(const SweepOptions& o) {
  if (o.jobs < 1) throw UsageError("--jobs must be >= 1");
  std::ifstream in(o.grid);
  if (!in) throw UsageError("--grid " + o.grid + ": file not found");
  nlohmann::ordered_json grid = nlohmann::ordered_json::parse(in, nullptr, false);
  if (grid.is_discarded()) throw UsageError("--grid " + o.grid + ": not valid JSON");
  const std::vector<SweepPoint> points = expand_grid(grid);

  // Validate every point's full config before anything runs.
  const std::string name = o.name.empty() ? fs::path(o.grid).stem().string() : o.name;
  std::string output_dir;
  for (const auto& p : points) {
    std::vector<std::string> sets = o.sets;
    sets.insert(sets.end(), p.overrides.begin(), p.overrides.end());
    try {
      const json tree = resolve_config_tree(o.config, sets);
      output_dir = tree["output"]["dir"];
    } catch (const UsageError& e) {
      throw UsageError("sweep point '" + p.name + "': " + e.what());
    }
  }
  SweepResult r;
  r.dir = (fs::path(output_dir) / name).string();
  r.points = points.size();
  const int threads = std::max(1, resolve_threads(0) / o.jobs);

  struct Job {
    const SweepPoint* point;
    Status status;
    std::vector<std::string> train, eval;
  };
  std::vector<Job> jobs;
  for (const auto& p : points) {
    const fs::path dir = fs::path(r.dir) / p.name;
    Job j{&p, point_status(dir), {}, {}};
    if (j.status == Status::Resume) {
      j.train = {o.executable, "train", "--resume", dir.string(), "--threads", std::to_string(threads), "--quiet"};
    } else if (j.status == Status::Fresh) {
      j.train = {o.executable, "train"};
      if (!o.config.empty()) j.train.insert(j.train.end(), {"--config", o.config});
      for (const auto& s : o.sets) j.train.insert(j.train.end(), {"--set", s});
      for (const auto& s : p.overrides) j.train.insert(j.train.end(), {"--set", s});
      j.train.insert(j.train.end(), {"--set", "output.dir=" + json(r.dir).dump(), "--set", "name=" + json(p.name).dump(),
                                     "--threads", std::to_string(threads), "--quiet"});
    }
    j.eval = {o.executable, "eval", "--run", dir.string(), "--split", "test", "--threads", std::to_string(threads)};
    const char* label = j.status == Status::Done ? "done, skipped" : (j.status == Status::Resume ? "resume" : "train");
    r.plan += p.name + "  [" + label + "]" + (j.train.empty() ? "" : "  " + shell_line(j.train)) + "\n";
    r.skipped += j.status == Status::Done;
    r.resumed += j.status == Status::Resume;
    jobs.push_back(std::move(j));
  }
  if (o.dry_run) return r;

  fs::create_directories(fs::path(r.dir) / "logs");
  std::atomic<size_t> next{0};
  std::atomic<size_t> failed{0};
  std::mutex log_mu;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
      Job& j = jobs[i];
      if (j.status == Status::Done) continue;
      const fs::path dir = fs::path(r.dir) / j.point->name;
      // A point that died before finishing its first epoch has nothing to resume: start it again.
      if (j.status == Status::Fresh && fs::exists(dir)) fs::remove_all(dir);
      const std::string log = (fs::path(r.dir) / "logs" / (j.point->name + ".log")).string();
      if (!o.quiet) {
        std::lock_guard<std::mutex> lock(log_mu);
        spdlog::info("Sweep {}: {} ({}), log {}", name, j.point->name, j.status == Status::Resume ? "resume" : "train", log);
      }
      int rc = run_process(j.train, log);
      if (rc == 0) rc = run_process(j.eval, log);
      if (rc != 0) {
        ++failed;
        std::lock_guard<std::mutex> lock(log_mu);
        spdlog::error("Sweep {}: point {} failed (exit {}); see {}", name, j.point->name, rc, log);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < o.jobs; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  r.failed = failed;
  std::vector<std::string> dirs;
  for (const auto& p : points) {
    if (fs::exists(fs::path(r.dir) / p.name / "summary.json")) dirs.push_back((fs::path(r.dir) / p.name).string());
  }
  if (!dirs.empty()) r.table_md = build_table(dirs, r.dir);
  return r;
}

}  // namespace agegender
