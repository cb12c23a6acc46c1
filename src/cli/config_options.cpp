#include "cli/config_options.hpp"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "agegender/config.hpp"

namespace agegender::cli {

void add_config_options(CLI::App* cmd, ConfigOptions& o) {
  cmd->add_option("--config,-c", o.file, "Experiment config JSON (may \"extends\" another)");
  cmd->add_option("--set,-s", o.sets, "Override: dotted.key=value (value parsed as JSON, else string); repeatable");
  cmd->add_option("--name", o.name, "Run name (= --set name=...; default: the config file's name)");
  cmd->add_option("--epochs", o.epochs, "= --set train.epochs=N");
  cmd->add_option("--device", o.device, "= --set train.device=cpu|cuda|auto");
  cmd->add_option("--threads", o.threads, "= --set train.threads=N (0 = all cores)");
}

nlohmann::json resolve(const ConfigOptions& o) {
  std::vector<std::string> sets;
  // A run is named after its config file unless the file or the command line names it.
  if (!o.file.empty() && std::filesystem::exists(o.file) && !load_config_file(o.file).contains("name")) {
    sets.push_back("name=\"" + std::filesystem::path(o.file).stem().string() + "\"");
  }
  sets.insert(sets.end(), o.sets.begin(), o.sets.end());
  if (!o.name.empty()) sets.push_back("name=" + nlohmann::json(o.name).dump());
  if (o.epochs > 0) sets.push_back("train.epochs=" + std::to_string(o.epochs));
  if (!o.device.empty()) sets.push_back("train.device=" + nlohmann::json(o.device).dump());
  if (o.threads >= 0) sets.push_back("train.threads=" + std::to_string(o.threads));
  return resolve_config_tree(o.file, sets);
}

}  // namespace agegender::cli
