#pragma once
// Best-epoch selection, apart from the trainer so that its rules are tested on their own.
#include <cmath>

namespace agegender {

struct EpochVerdict {
  bool improved = false;   // a new best selection loss: the best epoch moves, patience restarts
  bool save_best = false;  // write best.safetensors now
};

/// `loss` is the epoch's selection loss (validation, or training without a val split). A non-finite
/// loss never improves (a NaN compares false either way; here that is a rule, not an accident). The
/// first epoch always saves best, whatever its loss, so every run that finished an epoch has a best
/// checkpoint; a later finite loss replaces it because best_loss stays at infinity until then.
inline EpochVerdict judge_epoch(double loss, double best_loss, double min_delta, bool have_best) {
  EpochVerdict v;
  v.improved = std::isfinite(loss) && loss < best_loss - min_delta;
  v.save_best = v.improved || !have_best;
  return v;
}

}  // namespace agegender
