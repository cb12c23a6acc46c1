#include <CLI/CLI.hpp>
#include <cstdio>

#include "agegender/evaluator.hpp"
#include "agegender/csv.hpp"
#include "agegender/report.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {

void add_eval(CLI::App& app) {
  struct Opts {
    EvalOptions eval;
    std::string format = "md";
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a run's best checkpoint; writes eval.json and confusion matrices");
  cmd->add_option("--run", o->eval.run_dir, "Run directory (runs/<name>)")->required();
  cmd->add_option("--split", o->eval.split, "train | val | test")->capture_default_str()->check(CLI::IsMember({"train", "val", "test"}));
  cmd->add_option("--data", o->eval.data, "Another prepared dataset (default: the run's data.prepared)");
  cmd->add_option("--out", o->eval.out_dir, "Output directory (default: the run dir, or <run>/eval_<split>[_<data>])");
  cmd->add_option("--threads", o->eval.threads, "Threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--batch", o->eval.batch_size, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--device", o->eval.device, "cpu | cuda | auto (a GPU when LibTorch sees one)")->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--age-bins", o->eval.age_bins,
                  "Score another binning: bin10 | balanced | intuition | '{\"edges\":[0,18,65]}' (needs a model.age_head years model; "
                  "default: the model's own)");
  cmd->add_option("--predictions", o->eval.predictions, "Also write one CSV row per image (labels, age group, expected age, P(female))");
  cmd->add_flag("--tta", o->eval.tta, "Test-time augmentation: average each image's and its horizontal flip's probabilities");
  cmd->add_flag("--calibrate-shares", o->eval.calibrate_shares,
                "Refit the checkpoint's age-share and gender-share calibrations on these images (labelled faces from "
                "the cameras the model will count) and save them in the run's best checkpoint");
  cmd->add_flag("--calibrate-ages", o->eval.calibrate_ages,
                "Refit the checkpoint's age calibration (the map of its expected age that stretches the young and the "
                "old back out; training fits it on the validation split) on these images and save it in the run's best "
                "checkpoint (year heads)");
  cmd->add_option("--format", o->format, "Printed result: md (table row), csv or json")->capture_default_str()
      ->check(CLI::IsMember({"md", "csv", "json"}));
  cmd->callback([o] {
    const EvalResult r = evaluate_run(o->eval);
    if (o->format == "json") {
      std::printf("%s\n", r.eval.dump(2).c_str());
    } else if (o->format == "csv") {
      std::printf("%s%s", csv_line(csv_header()).c_str(), r.csv_row.c_str());
    } else {
      std::printf("%s\n%s\n", markdown_header().c_str(), r.markdown_row.c_str());
    }
    std::fprintf(stderr, "wrote %s/eval.json (%zu images, accuracy %.4f, top-2 %.4f, gender %.4f, age MAE %.2f)\n",
                 r.out_dir.c_str(), r.eval["n"].get<size_t>(), r.eval["accuracy"].get<double>(),
                 r.eval["top2_accuracy"].get<double>(), r.eval["gender_accuracy"].get<double>(), r.eval["age_mae"].get<double>());
  });
}

}  // namespace agegender::cli
