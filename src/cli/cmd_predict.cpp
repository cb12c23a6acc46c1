#include <CLI/CLI.hpp>
#include <cstdio>

#include "agegender/predictor.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {

void add_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Age group and gender of every face in images, folders or videos");
  cmd->add_option("--model", o->model,
                  "Run directory (uses best.safetensors) or a .safetensors checkpoint; with --engine opencv an exported .onnx")
      ->required();
  cmd->add_option("--engine", o->engine, "torch (LibTorch) or opencv (OpenCV DNN on an `agegender export` .onnx)")
      ->capture_default_str()->check(CLI::IsMember({"torch", "opencv"}));
  cmd->add_option("--input", o->input, "Image, folder (recursive) or video file")->required();
  cmd->add_option("--out", o->out, "Results file (default: stdout)");
  cmd->add_option("--format", o->format, "csv or jsonl")->capture_default_str()->check(CLI::IsMember({"csv", "jsonl"}));
  add_detection_options(cmd, *o);
  cmd->add_option("--annotate", o->annotate, "Folder for annotated images, or an .mp4/.avi file for a video input");
  add_media_options(cmd, o->every, o->batch, o->max_pixels, o->threads, o->device);
  cmd->add_flag("--tta", o->tta, "Test-time augmentation: average each face's and its horizontal flip's probabilities");
  cmd->add_flag("--summary", o->summary, "Print faces per age group x gender and write it as JSON");
  cmd->add_option("--summary-json", o->summary_json, "Where the summary JSON goes (default: <out>.summary.json)");
  cmd->add_option("--summary-window", o->summary_window, "Video: frames per summary window")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--quiet,-q", o->quiet, "No progress lines");
  cmd->callback([o] {
    const PredictReport r = run_predict(*o);
    if (o->summary) std::fprintf(stderr, "%s", r.summary_table.c_str());
    std::fprintf(stderr, "predict: %zu inputs, %zu faces, %zu errors, %.1f images/s (%.1f s)\n", r.inputs, r.faces, r.errors,
                 r.inputs / std::max(r.seconds, 1e-9), r.seconds);
  });
}

}  // namespace agegender::cli
