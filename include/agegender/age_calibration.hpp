#pragma once
// A monotone map of a model's expected age (torch-free). A year head's mean age regresses to the middle of
// the training ages: children come out too old and the elderly too young, the two groups users of age
// estimators complain about most. The map age' = exp(scale * ln(1 + age) + shift) - 1, clamped to the
// year head's 0..116, is fitted on the validation split at the end of training by least absolute
// deviations in ln(1 + age) (errors there are relative, so a 2-year miss on a child weighs what a 20-year
// miss on a 70-year-old does) and stored in the checkpoint; the expected age of eval, predict and the ONNX
// export goes through it, and so does each face's age that visitors fuses into a track's. Age groups come from
// the year distribution and are never changed by it.
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace agegender {

struct AgeCalibration {
  static constexpr double kMaxAge = 116;  // the year head's last year (kAgeYears - 1: static_assert in inference.cpp)
  double scale = 1.0, shift = 0.0;        // identity by default (checkpoints without a calibration)

  bool identity() const { return scale == 1.0 && shift == 0.0; }
  double apply(double age) const;
  /// The uncalibrated age `apply` maps to `age` (exact inside the clamp): test-time augmentation averages
  /// the views there, as the LibTorch path does before it calibrates.
  double invert(double age) const;
  /// Every age of `ages` in place (a PredictionSet's expected ages).
  void apply_all(std::vector<float>& ages) const;
  /// [scale, shift] as stored in checkpoints, summaries and ONNX metadata.
  nlohmann::json to_json() const;
};

/// Least absolute deviations of ln(1 + true age) on ln(1 + predicted age) (iteratively reweighted least
/// squares). nullopt, with the reason in `why`, when there are fewer than 50 rows, the predicted ages do not
/// vary, or the fitted map leaves the valid range (below): the caller keeps what it had.
std::optional<AgeCalibration> fit_age_calibration(const std::vector<float>& predicted, const std::vector<int>& true_age,
                                                  std::string* why = nullptr);

/// The calibration stored under `age_calibration` in checkpoint or ONNX metadata; identity when absent.
/// Throws RuntimeError naming `origin` unless it is [scale, shift] with scale in [0.5, 2], shift in [-3, 3].
AgeCalibration age_calibration_from_json(const nlohmann::json& meta, const std::string& origin);

}  // namespace agegender
