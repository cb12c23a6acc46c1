#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "agegender/error.hpp"
#include "agegender/sweep.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {
namespace {

// Points run as child processes of this very binary.
std::string self_executable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw RuntimeError("cannot find the agegender executable (/proc/self/exe): " + ec.message());
  return p.string();
}

}  // namespace

void add_sweep(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* cmd = app.add_subcommand("sweep", "Train + eval every point of a grid of overrides; writes table.md/table.csv");
  cmd->add_option("--config,-c", o->config, "Base experiment config");
  cmd->add_option("--grid", o->grid, "Grid JSON: {\"key.path\": [values...]} or {\"runs\": [{overrides}, ...]}")->required();
  cmd->add_option("--set,-s", o->sets, "Override applied to every point; repeatable");
  cmd->add_option("--name", o->name, "Sweep name: runs/<name>/<point>/ (default: the grid file's name)");
  cmd->add_option("--jobs,-j", o->jobs, "Points at once (each gets cores/jobs threads)")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--dry-run", o->dry_run, "Print each point's status and command, run nothing");
  cmd->add_flag("--quiet,-q", o->quiet, "No progress lines");
  cmd->callback([o] {
    o->executable = self_executable();
    const SweepResult r = run_sweep(*o);
    if (o->dry_run) {
      std::printf("%s", r.plan.c_str());
      return;
    }
    std::printf("%s", r.table_md.c_str());
    std::fprintf(stderr, "sweep %s: %zu points (%zu already done, %zu resumed, %zu failed); tables in %s\n", r.dir.c_str(),
                 r.points, r.skipped, r.resumed, r.failed, r.dir.c_str());
    if (r.failed > 0) throw RuntimeError(std::to_string(r.failed) + " sweep point(s) failed; rerun the same command to retry them");
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
