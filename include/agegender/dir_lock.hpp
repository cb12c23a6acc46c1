#pragma once
// An exclusive lock on a directory that one process writes (a run, a sweep): flock on <dir>/.lock,
// released by the kernel when the process ends however it ends, so a stale file never blocks anyone.
// The file records who holds it (pid, host, command, start time) for the message a second writer gets.
#include <string>

namespace agegender {

inline constexpr const char* kLockFile = ".lock";

class DirLock {
 public:
  /// Locks `dir` (it must exist). Throws RuntimeError naming `what` ("run", "sweep"), the directory and
  /// the holder when another process (or another DirLock in this one) holds it.
  DirLock(const std::string& dir, const std::string& what);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

/// "pid 123 on host h since 2024-01-01T00:00:00Z: agegender train ...", or "" when `dir` is not locked.
std::string dir_lock_holder(const std::string& dir);

}  // namespace agegender
