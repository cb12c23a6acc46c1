// agegender: thin CLI over agegender_core. Exit codes: 0 ok, 1 runtime failure, 2 usage/config error.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "agegender/error.hpp"
#include "agegender/version.hpp"
#include "cli/commands.hpp"

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("agegender");
  logger->set_pattern("[%T] %^%l%$ %v");
  spdlog::set_default_logger(logger);

  CLI::App app{"agegender: train, evaluate and run age-group and gender CNNs on face images"};
  app.set_version_flag("--version", std::string("agegender ") + agegender::version() + " (git " +
                                        agegender::git_revision() + ")");
  app.require_subcommand(1);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  agegender::cli::add_prepare(app);
  agegender::cli::add_train(app, command_line);
  agegender::cli::add_eval(app);
  agegender::cli::add_predict(app);
  agegender::cli::add_embed(app);
  agegender::cli::add_visitors(app);
  agegender::cli::add_export(app);
  agegender::cli::add_sweep(app);
  agegender::cli::add_config(app);
  agegender::cli::add_models(app);

  // CLI11 would only say "arguments were not expected": name the command and list the real ones.
  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
      known = known || sub->get_name() == argv[1];
    }
    if (!known) {
      spdlog::error("unknown command '{}' (expected one of: {}; see agegender --help)", argv[1], names);
      return 2;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and a usage hint
    return 2;
  } catch (const agegender::UsageError& e) {
    spdlog::error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
