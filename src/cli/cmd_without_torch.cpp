// The OpenCV-only build (AGEGENDER_WITH_TORCH=OFF): the subcommands that need LibTorch are still listed,
// and say so (exit 2) whatever their flags.
#include <CLI/CLI.hpp>

#include "agegender/error.hpp"
#include "cli/commands.hpp"

namespace agegender::cli {
namespace {

void needs_torch(CLI::App& app, const std::string& name, const std::string& what) {
  CLI::App* cmd = app.add_subcommand(name, what + " (needs LibTorch: not in this build)");
  cmd->allow_extras();
  cmd->callback([name] {
    throw UsageError(name + " needs LibTorch; this agegender was built with AGEGENDER_WITH_TORCH=OFF "
                            "(it can prepare, and predict --engine opencv with exported .onnx models)");
  });
}

}  // namespace

void add_train(CLI::App& app, const std::string&) { needs_torch(app, "train", "Train a model"); }
void add_eval(CLI::App& app) { needs_torch(app, "eval", "Evaluate a run"); }
void add_config(CLI::App& app) { needs_torch(app, "config", "Print the resolved config"); }
void add_models(CLI::App& app) { needs_torch(app, "models", "List the model architectures"); }
void add_sweep(CLI::App& app) {
  needs_torch(app, "sweep", "Train + eval a grid");
  needs_torch(app, "table", "Rebuild the result table");
}
void add_embed(CLI::App& app) { needs_torch(app, "embed", "Face descriptors"); }
void add_visitors(CLI::App& app) { needs_torch(app, "visitors", "Store visitors from videos"); }
void add_export(CLI::App& app) { needs_torch(app, "export", "Write a run's network as ONNX"); }

}  // namespace agegender::cli
