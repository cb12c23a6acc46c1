#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "agegender/config.hpp"
#include "agegender/models.hpp"
#include "cli/commands.hpp"
#include "cli/config_options.hpp"

namespace agegender::cli {

void add_config(CLI::App& app) {
  struct Opts {
    ConfigOptions config;
    bool defaults = false, keys = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("config", "Print the resolved (validated) config, the defaults, or every key");
  add_config_options(cmd, o->config);
  cmd->add_flag("--defaults", o->defaults, "Print the compiled defaults");
  cmd->add_flag("--keys", o->keys, "List every valid dotted key");
  cmd->callback([o] {
    if (o->keys) {
      for (const auto& k : config_keys()) std::printf("%s\n", k.c_str());
    } else {
      std::printf("%s\n", (o->defaults ? default_config() : resolve(o->config)).dump(2).c_str());
    }
  });
}

void add_models(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("models", "List the registered model architectures");
  cmd->callback([] {
    for (const auto& m : model_registry()) {
      std::printf("%-10s %2d conv  min %3d px  %s\n", m.name.c_str(), m.conv_layers, m.min_input_size, m.description.c_str());
    }
  });
}

}  // namespace agegender::cli
