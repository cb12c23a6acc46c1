#pragma once
// Throttled progress lines on stderr: "Prepare: [ 1200/21307 (  6%)]  1523.4 img/s  ETA 0:13".
#include <chrono>
#include <string>

namespace agegender {

std::string format_duration(double seconds);  // "1:05", "1:02:03"

class Progress {
 public:
  Progress(std::string label, size_t total, bool quiet, double interval_s = 2.0);
  /// Prints at most once per interval; `extra` is appended (e.g. "Loss: 1.23 (1.40)").
  void update(size_t done, const std::string& extra = "");
  double elapsed() const;
  double rate(size_t done) const { return done / std::max(elapsed(), 1e-9); }

 private:
  std::string label_;
  size_t total_;
  bool quiet_;
  double interval_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace agegender
