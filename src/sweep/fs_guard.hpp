#pragma once
// A filesystem error in a sweep (a point name too long for the file system, a permission) becomes a
// RuntimeError naming the path, the way every other failure is reported, never an escaped exception.
#include <filesystem>
#include <string>

#include "agegender/error.hpp"

namespace agegender {

template <typename F>
auto filesystem_errors_as_runtime(const char* what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::filesystem::filesystem_error& e) {
    throw RuntimeError(std::string(what) + ": " + e.what());
  }
}

}  // namespace agegender
