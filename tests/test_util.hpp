#pragma once
// Shared test helpers: temporary directories, generated face-like images, running the CLI.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace agegender::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "agegender-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string str(const std::string& child = "") const { return child.empty() ? path_.string() : (path_ / child).string(); }

 private:
  fs::path path_;
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The file's lines, without their line ends.
inline std::vector<std::string> read_lines(const fs::path& p) {
  std::vector<std::string> out;
  std::stringstream ss(read_file(p));
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

inline void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

struct RunResult {
  int exit_code;
  std::string output;  // stdout + stderr
};

/// Runs a /bin/sh command line, capturing stdout + stderr.
inline RunResult run_shell(const std::string& command) {
  TempDir tmp;
  const std::string out = tmp.str("out.txt");
  const std::string cmd = "(" + command + ") >" + out + " 2>&1";
  const int status = std::system(cmd.c_str());
  return {WEXITSTATUS(status), read_file(out)};
}

/// Runs the agegender binary with `args` (a shell-quoted string).
inline RunResult run_cli(const std::string& args) { return run_shell(std::string(AGEGENDER_BIN) + " " + args); }

}  // namespace agegender::test
