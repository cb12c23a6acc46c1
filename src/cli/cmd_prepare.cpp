#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "agegender/prepare.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {

void add_prepare(CLI::App& app) {
  auto opts = std::make_shared<PrepareOptions>();
  auto split = std::make_shared<std::string>("0.8,0.1,0.1");
  CLI::App* cmd = app.add_subcommand("prepare", "Validate, split and cache a UTKFace folder or .tar.gz");
  cmd->add_option("--data", opts->data, "UTKFace folder or .tar/.tar.gz archive")->required();
  cmd->add_option("--out", opts->out, "Output directory, e.g. data/prepared/utk128")->required();
  cmd->add_option("--size", opts->size, "Cached image side in pixels")->capture_default_str();
  cmd->add_option("--split", *split, "TRAIN,VAL,TEST fractions (0,0,1 = all test, for eval --data)")
      ->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Split seed")->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Decode threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--balanced-classes", opts->balanced_classes, "K of the balanced binning in meta.json/EDA")
      ->capture_default_str();
  cmd->add_option("--max-pixels", opts->max_pixels, "Reject images whose header claims more pixels (width x height)")
      ->capture_default_str();
  cmd->add_flag("--quiet", opts->quiet, "No progress lines");
  cmd->callback([opts, split] {
    opts->split = SplitFractions::parse(*split);
    const PrepareReport r = prepare_dataset(*opts);
    std::printf("prepared %zu images (train %zu, val %zu, test %zu), %zu rejected, %zu duplicate groups -> %s "
                "in %.1f s (%.0f img/s)\n",
                r.accepted, r.split_counts[0], r.split_counts[1], r.split_counts[2], r.rejected, r.duplicate_groups,
                opts->out.c_str(), r.seconds, r.files / std::max(r.seconds, 1e-9));
  });
}

}  // namespace agegender::cli
