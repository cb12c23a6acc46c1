#include "agegender/threads.hpp"

#include <string>
#include <thread>

#include "agegender/error.hpp"

namespace agegender {
int resolve_threads(int requested) {
  if (requested < 0) throw UsageError("threads must be >= 0 (0 = all cores), got " + std::to_string(requested));
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}
}  // namespace agegender
