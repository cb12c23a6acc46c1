#pragma once
// Error types that the CLI maps to exit codes: UsageError -> 2, RuntimeError -> 1.
#include <stdexcept>
#include <string>

namespace agegender {

/// Bad flags, bad config keys/values, missing input paths: the user must change the command. Exit 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};

/// Failure while doing the work (I/O, corrupt data, nothing usable left). Exit 1.
class RuntimeError : public std::runtime_error {
 public:
  explicit RuntimeError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace agegender
