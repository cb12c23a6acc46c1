#pragma once
// Config flags shared by `train` and `config`: --config, --set (repeatable) and sugar flags.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace agegender::cli {

struct ConfigOptions {
  std::string file;
  std::vector<std::string> sets;
  std::string name, device;
  int epochs = 0, threads = -1;
};

void add_config_options(CLI::App* cmd, ConfigOptions& o);
/// defaults < file < --set < sugar flags; validated (UsageError on any problem).
nlohmann::json resolve(const ConfigOptions& o);

}  // namespace agegender::cli
