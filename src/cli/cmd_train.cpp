#include <CLI/CLI.hpp>
#include <cstdio>

#include "agegender/report.hpp"
#include "agegender/trainer.hpp"
#include "cli/commands.hpp"
#include "cli/config_options.hpp"

namespace agegender::cli {

void add_train(CLI::App& app, const std::string& command_line) {
  struct Opts {
    ConfigOptions config;
    std::string resume, init_from;
    int stop_after = 0;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model; writes runs/<name>/ (config, metrics, checkpoints, curves)");
  add_config_options(cmd, o->config);
  cmd->add_option("--resume", o->resume, "Continue this run directory from its last checkpoint (its own config)");
  cmd->add_option("--init-from", o->init_from, "Start a new run from these weights (run dir or .safetensors)");
  cmd->add_option("--stop-after-epochs", o->stop_after, "End this session after N epochs (resume later)");
  cmd->add_flag("--quiet,-q", o->quiet, "Only the final summary");
  cmd->callback([o, command_line] {
    TrainRequest req;
    req.command_line = command_line;
    req.quiet = o->quiet;
    req.stop_after_epochs = o->stop_after;
    req.init_from = o->init_from;
    if (!o->resume.empty()) {
      req.resume_dir = o->resume;
      req.resume_overrides = o->config.sets;
      if (o->config.threads >= 0) req.resume_overrides.push_back("train.threads=" + std::to_string(o->config.threads));
      if (!o->config.device.empty()) req.resume_overrides.push_back("train.device=\"" + o->config.device + "\"");
      if (o->config.epochs > 0) req.resume_overrides.push_back("train.epochs=" + std::to_string(o->config.epochs));
    } else {
      req.config = resolve(o->config);
    }
    const TrainResult r = train(req);
    if (!r.finished) {
      std::printf("paused %s; continue with: agegender train --resume %s\n", r.run_dir.c_str(), r.run_dir.c_str());
      return;
    }
    std::printf("%s\n%s\n", markdown_header().c_str(), markdown_row(table_row_from_summary(r.summary)).c_str());
    std::printf("run: %s\n", r.run_dir.c_str());
  });
}

}  // namespace agegender::cli
