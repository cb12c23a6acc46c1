#include "agegender/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agegender/error.hpp"
#include "agegender/process.hpp"

namespace agegender {
namespace fs = std::filesystem;
namespace {

std::string lock_path(const std::string& dir) { return (fs::path(dir) / kLockFile).string(); }

int open_lock_file(const std::string& dir) {
  const std::string path = lock_path(dir);
  // O_CLOEXEC: child processes (sweep points) must not inherit, and so keep holding, the lock.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw RuntimeError("cannot open lock file " + path + ": " + std::strerror(errno));
  return fd;
}

bool try_lock(int fd) {
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    throw RuntimeError(std::string("flock failed: ") + std::strerror(errno));
  }
  return true;
}

std::string holder_text(const std::string& dir) {
  std::ifstream in(lock_path(dir));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s.empty() ? "another process (it has not recorded itself yet)" : s;
}

std::string self_description() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> argv;
  for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
  char host[256] = "unknown";
  ::gethostname(host, sizeof host - 1);
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return "pid " + std::to_string(::getpid()) + " on host " + host + " since " + when + ": " + shell_line(argv) + "\n";
}

}  // namespace

DirLock::DirLock(const std::string& dir, const std::string& what) {
  fd_ = open_lock_file(dir);
  if (!try_lock(fd_)) {
    ::close(fd_);
    fd_ = -1;
    throw RuntimeError(what + " " + dir + " is in use by " + holder_text(dir) +
                       " (two writers would interleave its files; wait for that process to end, or stop it)");
  }
  const std::string me = self_description();
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    // The lock itself holds; only the note for a second writer is missing.
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the flock
}

std::string dir_lock_holder(const std::string& dir) {
  if (!fs::exists(lock_path(dir))) return "";
  const int fd = open_lock_file(dir);
  const bool free = try_lock(fd);
  ::close(fd);
  return free ? "" : holder_text(dir);
}

}  // namespace agegender
