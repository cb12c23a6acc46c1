#pragma once
// Child processes without a shell: sweep points (this binary) and Slurm's sbatch/squeue.
#include <string>
#include <vector>

namespace agegender {

/// Runs argv (argv[0] an absolute path) with stdout+stderr appended to `log`; returns the exit code
/// (128 + signal when killed). Throws RuntimeError when it cannot start.
int run_process(const std::vector<std::string>& argv, const std::string& log);

struct CapturedProcess {
  int exit_code = 0;
  std::string output;  // stdout + stderr
};
/// Runs argv and captures its output.
CapturedProcess capture_process(const std::vector<std::string>& argv);

/// `name` resolved through $PATH, or "" when absent.
std::string find_executable(const std::string& name);

/// One argument quoted for bash (single quotes when it holds anything special).
std::string shell_quote(const std::string& arg);
/// argv as one copy-pasteable bash command line.
std::string shell_line(const std::vector<std::string>& argv);

}  // namespace agegender
