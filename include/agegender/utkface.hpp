#pragma once
// UTKFace file-name labels: AGE_GENDER_RACE_DATETIME.jpg.chip.jpg
#include <optional>
#include <string>
#include <string_view>

namespace agegender {

struct FaceLabel {
  int age = 0;     // 0..116
  int gender = 0;  // 0 male, 1 female
  int race = 0;    // 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others
};

inline constexpr int kMaxAge = 116;
inline constexpr int kNumRaces = 5;

/// Result of parsing one file name: a label, or the reason it was rejected.
struct ParsedName {
  std::optional<FaceLabel> label;
  std::string reason;  // empty when label is set
};

/// Parses the base name (no directories) of a UTKFace crop. Accepts `.jpg.chip.jpg` and plain `.jpg`.
ParsedName parse_utkface_name(std::string_view file_name);

const char* gender_name(int gender);  // "male" / "female"
const char* race_name(int race);      // "White", ...

}  // namespace agegender
