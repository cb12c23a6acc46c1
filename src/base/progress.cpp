#include "agegender/progress.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>

namespace agegender {

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

Progress::Progress(std::string label, size_t total, bool quiet, double interval_s)
    : label_(std::move(label)), total_(total), quiet_(quiet), interval_(interval_s),
      start_(std::chrono::steady_clock::now()), last_(start_) {}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(size_t done, const std::string& extra) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && std::chrono::duration<double>(now - last_).count() < interval_) return;
  last_ = now;
  const double r = rate(done);
  const double eta = r > 0 ? static_cast<double>(total_ - std::min(done, total_)) / r : 0.0;
  const int width = static_cast<int>(std::to_string(total_).size());
  spdlog::info("{}: [{:>{}}/{} ({:3.0f}%)]  {}{}{:.1f} img/s  ETA {}", label_, done, width, total_,
               total_ ? 100.0 * done / total_ : 100.0, extra, extra.empty() ? "" : "  ", r, format_duration(eta));
}

}  // namespace agegender
