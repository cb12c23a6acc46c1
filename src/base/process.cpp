#include "agegender/process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "agegender/error.hpp"

extern char** environ;

namespace agegender {
namespace {

// Spawns argv with the given file actions; returns the child's pid.
pid_t spawn(const std::vector<std::string>& argv, posix_spawn_file_actions_t* fa) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), fa, nullptr, args.data(), environ);
  if (rc != 0) throw RuntimeError("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw RuntimeError(std::string("waitpid failed: ") + std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int run_process(const std::vector<std::string>& argv, const std::string& log) {
  // fork + exec rather than posix_spawn: the child must ask for SIGTERM when its parent dies, so a
  // killed sweep takes its points with it instead of leaving orphans that keep writing their runs.
  // The signal follows the parent *thread*; ours blocks in waitpid below until the child ends.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int report[2];  // the child writes its errno here when it cannot start; exec closes it otherwise
  if (pipe2(report, O_CLOEXEC) != 0) throw RuntimeError(std::string("pipe failed: ") + std::strerror(errno));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(report[0]);
    close(report[1]);
    throw RuntimeError("cannot start " + argv[0] + ": fork failed: " + std::strerror(err));
  }
  if (pid == 0) {  // only async-signal-safe calls from here on
    int err = 0;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
      err = errno;
    } else {
      execv(args[0], args.data());
      err = errno;
    }
    if (write(report[1], &err, sizeof err) < 0) _exit(127);
    _exit(127);
  }
  close(report[1]);
  int err = 0;
  ssize_t n;
  while ((n = read(report[0], &err, sizeof err)) < 0 && errno == EINTR) {
  }
  close(report[0]);
  const int rc = wait_exit_code(pid);
  if (n == static_cast<ssize_t>(sizeof err)) {
    throw RuntimeError("cannot start " + argv[0] + " (log " + log + "): " + std::strerror(err));
  }
  return rc;
}

CapturedProcess capture_process(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw RuntimeError(std::string("pipe failed: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  pid_t pid = 0;
  try {
    pid = spawn(argv, &fa);
  } catch (...) {
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    close(fds[1]);
    throw;
  }
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  CapturedProcess r;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    r.output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  r.exit_code = wait_exit_code(pid);
  return r;
}

std::string find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = dirs.substr(start, end - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string shell_quote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+=/:%@,") ==
                          std::string::npos) {
    return arg;
  }
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string shell_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + shell_quote(a);
  return s;
}

}  // namespace agegender
