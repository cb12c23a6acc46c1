#include "agegender/utkface.hpp"

#include <array>
#include <charconv>
#include <vector>

namespace agegender {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::optional<int> to_int(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

ParsedName reject(std::string reason) { return {std::nullopt, std::move(reason)}; }

}  // namespace

ParsedName parse_utkface_name(std::string_view name) {
  std::string_view stem;
  if (ends_with(name, ".jpg.chip.jpg")) {
    stem = name.substr(0, name.size() - 13);
  } else if (ends_with(name, ".jpg")) {
    stem = name.substr(0, name.size() - 4);
  } else {
    return reject("wrong extension (expected .jpg.chip.jpg or .jpg)");
  }
  const auto fields = split(stem, '_');
  if (fields.size() != 4) {
    return reject("expected 4 fields AGE_GENDER_RACE_DATETIME, found " + std::to_string(fields.size()));
  }
  static constexpr std::array<const char*, 3> kField = {"age", "gender", "race"};
  std::array<int, 3> v{};
  for (size_t i = 0; i < 3; ++i) {
    const auto parsed = to_int(fields[i]);
    if (!parsed) return reject(std::string("non-numeric ") + kField[i] + " '" + std::string(fields[i]) + "'");
    v[i] = *parsed;
  }
  if (v[0] < 0 || v[0] > kMaxAge) return reject("age " + std::to_string(v[0]) + " out of range 0..116");
  if (v[1] != 0 && v[1] != 1) return reject("gender " + std::to_string(v[1]) + " not 0 or 1");
  if (v[2] < 0 || v[2] >= kNumRaces) return reject("race " + std::to_string(v[2]) + " out of range 0..4");
  // The labels are the first three fields; the datetime is only an id. The real set has names like
  // "..._20170116220224657 .jpg.chip.jpg" and "..._20170116232725357jpg.chip.jpg" whose labels are
  // intact, so only require the datetime to start with a digit.
  if (fields[3].empty() || fields[3][0] < '0' || fields[3][0] > '9') {
    return reject("datetime field '" + std::string(fields[3]) + "' does not start with a digit");
  }
  return {FaceLabel{v[0], v[1], v[2]}, {}};
}

const char* gender_name(int gender) { return gender == 0 ? "male" : "female"; }

const char* race_name(int race) {
  static constexpr std::array<const char*, kNumRaces> kNames = {"White", "Black", "Asian", "Indian", "Others"};
  return race >= 0 && race < kNumRaces ? kNames[race] : "unknown";
}

}  // namespace agegender
