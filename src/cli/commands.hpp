#pragma once
// Each subcommand lives in its own cmd_*.cpp: it declares its flags on `app` and sets a callback that
// calls the library. Callbacks throw agegender::UsageError / RuntimeError; main maps them to exit codes.
#include <string>

namespace CLI {
class App;
}

namespace agegender::cli {

void add_prepare(CLI::App& app);
void add_train(CLI::App& app, const std::string& command_line);
void add_eval(CLI::App& app);
void add_config(CLI::App& app);
void add_models(CLI::App& app);
void add_predict(CLI::App& app);
void add_sweep(CLI::App& app);  // also `table`
void add_embed(CLI::App& app);

}  // namespace agegender::cli
