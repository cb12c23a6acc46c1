#include "agegender/age_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "agegender/error.hpp"

namespace agegender {

namespace {
constexpr double kMinScale = 0.5, kMaxScale = 2.0, kMaxShift = 3.0;
constexpr const char* kKey = "age_calibration";

bool in_range(double scale, double shift) {
  return std::isfinite(scale) && std::isfinite(shift) && scale >= kMinScale && scale <= kMaxScale && std::fabs(shift) <= kMaxShift;
}

// Weighted least squares of y on [x, 1]: the 2x2 normal equations.
bool weighted_line(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w, double& a,
                   double& b) {
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sw += w[i], sx += w[i] * x[i], sy += w[i] * y[i], sxx += w[i] * x[i] * x[i], sxy += w[i] * x[i] * y[i];
  }
  const double det = sw * sxx - sx * sx;
  if (!(std::fabs(det) > 1e-12)) return false;
  a = (sw * sxy - sx * sy) / det;
  b = (sxx * sy - sx * sxy) / det;
  return true;
}
}  // namespace

double AgeCalibration::apply(double age) const {
  if (identity()) return age;
  return std::exp(scale * std::log1p(std::max(age, 0.0)) + shift) - 1.0;
}

void AgeCalibration::apply_all(std::vector<float>& ages) const {
  if (identity()) return;
  for (float& a : ages) a = static_cast<float>(apply(a));
}

nlohmann::json AgeCalibration::to_json() const { return nlohmann::json::array({scale, shift}); }

AgeCalibration fit_age_calibration(const std::vector<float>& predicted, const std::vector<int>& true_age) {
  const size_t n = std::min(predicted.size(), true_age.size());
  if (n < 10) return {};
  std::vector<double> x(n), y(n), w(n, 1.0);
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::log1p(std::max(0.0, static_cast<double>(predicted[i])));
    y[i] = std::log1p(std::max(0, true_age[i]));
  }
  double a = 1, b = 0;
  // IRLS for the L1 line: weights 1 / |residual| (floored so exact fits do not dominate).
  for (int it = 0; it < 100; ++it) {
    double na = a, nb = b;
    if (!weighted_line(x, y, w, na, nb)) return {};
    const bool settled = std::fabs(na - a) < 1e-9 && std::fabs(nb - b) < 1e-9;
    a = na, b = nb;
    if (settled) break;
    for (size_t i = 0; i < n; ++i) w[i] = 1.0 / std::max(std::fabs(y[i] - (a * x[i] + b)), 1e-4);
  }
  if (!in_range(a, b)) return {};
  return AgeCalibration{a, b};
}

AgeCalibration age_calibration_from_json(const nlohmann::json& meta, const std::string& origin) {
  if (!meta.is_object() || !meta.contains(kKey)) return {};
  const nlohmann::json& j = meta.at(kKey);
  if (!j.is_array() || j.size() != 2 || !j[0].is_number() || !j[1].is_number()) {
    throw RuntimeError(origin + ": " + kKey + " is " + j.dump() + " (expected [scale, shift])");
  }
  const AgeCalibration c{j[0].get<double>(), j[1].get<double>()};
  if (!in_range(c.scale, c.shift)) {
    throw RuntimeError(origin + ": " + kKey + " is " + j.dump() + " (expected scale 0.5 to 2 and shift -3 to 3)");
  }
  return c;
}

}  // namespace agegender
