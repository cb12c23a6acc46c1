#include <CLI/CLI.hpp>
#include <cstdio>

#include "agegender/embedder.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {

void add_embed(CLI::App& app) {
  auto o = std::make_shared<EmbedOptions>();
  CLI::App* cmd = app.add_subcommand(
      "embed",
      "128-d face descriptor of every face in images, folders or videos (face-api's face recognition net).\n"
      "A face descriptor is biometric data: it identifies a person. This command writes descriptors to --out\n"
      "and nowhere else; keep that file as you would keep the faces themselves.");
  cmd->add_option("--input", o->input, "Image, folder (recursive) or video file")->required();
  cmd->add_option("--out", o->out, "FILE.jsonl (descriptor as an array) or FILE.csv (columns d0..d127)")->required();
  cmd->add_option("--format", o->format, "csv or jsonl (default: from the --out extension)")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  add_detection_options(cmd, *o);
  add_media_options(cmd, o->every, o->batch, o->max_pixels, o->threads, o->device);
  cmd->add_flag("--quiet,-q", o->quiet, "No progress lines");
  cmd->callback([o] {
    const EmbedReport r = run_embed(*o);
    std::fprintf(stderr, "embed: %zu inputs, %zu faces, %zu errors, %.1f images/s (%.1f s) -> %s\n", r.inputs, r.faces,
                 r.errors, r.inputs / std::max(r.seconds, 1e-9), r.seconds, o->out.c_str());
  });
}

}  // namespace agegender::cli
