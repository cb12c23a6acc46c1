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

// Weighted least squares of y on [x, 1], in centred sums (the weights reach 1e4): false when x does not vary.
bool weighted_line(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w, double& a,
                   double& b) {
  double sw = 0, mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) sw += w[i], mx += w[i] * x[i], my += w[i] * y[i];
  mx /= sw, my /= sw;
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) sxx += w[i] * (x[i] - mx) * (x[i] - mx), sxy += w[i] * (x[i] - mx) * (y[i] - my);
  if (!(sxx > 1e-9 * sw)) return false;  // ln(1 + age) spread below ~3e-5: one predicted age
  a = sxy / sxx;
  b = my - a * mx;
  return true;
}

void say(std::string* why, const std::string& text) {
  if (why) *why = text;
}
}  // namespace

double AgeCalibration::apply(double age) const {
  if (identity()) return age;
  return std::clamp(std::expm1(scale * std::log1p(std::max(age, 0.0)) + shift), 0.0, kMaxAge);
}

double AgeCalibration::invert(double age) const {
  if (identity()) return age;
  return std::max(0.0, std::expm1((std::log1p(std::max(age, 0.0)) - shift) / scale));
}

void AgeCalibration::apply_all(std::vector<float>& ages) const {
  if (identity()) return;
  for (float& a : ages) a = static_cast<float>(apply(a));
}

nlohmann::json AgeCalibration::to_json() const { return nlohmann::json::array({scale, shift}); }

std::optional<AgeCalibration> fit_age_calibration(const std::vector<float>& predicted, const std::vector<int>& true_age,
                                                  std::string* why) {
  constexpr size_t kMinRows = 50;
  const size_t n = std::min(predicted.size(), true_age.size());
  if (n < kMinRows) {
    say(why, std::to_string(n) + " labelled faces (at least " + std::to_string(kMinRows) + " needed)");
    return std::nullopt;
  }
  std::vector<double> x(n), y(n), w(n, 1.0);
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::log1p(std::max(0.0, static_cast<double>(predicted[i])));
    y[i] = std::log1p(std::max(0, true_age[i]));
  }
  double a = 1, b = 0;
  if (!weighted_line(x, y, w, a, b)) {
    say(why, "the model gives every face the same age");
    return std::nullopt;
  }
  // IRLS for the L1 line: weights 1 / |residual| (floored so exact fits do not dominate); a step that
  // cannot be solved keeps the previous line.
  for (int it = 0; it < 100; ++it) {
    for (size_t i = 0; i < n; ++i) w[i] = 1.0 / std::max(std::fabs(y[i] - (a * x[i] + b)), 1e-4);
    double na = a, nb = b;
    if (!weighted_line(x, y, w, na, nb)) break;
    const bool settled = std::fabs(na - a) < 1e-9 && std::fabs(nb - b) < 1e-9;
    a = na, b = nb;
    if (settled) break;
  }
  if (!in_range(a, b)) {
    say(why, "the fitted map [" + std::to_string(a) + ", " + std::to_string(b) +
                 "] is outside scale 0.5 to 2, shift -3 to 3 (the model's ages hardly follow the true ones)");
    return std::nullopt;
  }
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
