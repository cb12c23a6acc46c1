#pragma once
// The leading columns every per-face output shares (predict, embed): where the face is.
// `frame` -1 = a still image (an empty CSV field, JSON null).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace agegender {

struct FaceLocation {
  std::string file;
  long frame = -1;
  int face = 0;
  int x = 0, y = 0, w = 0, h = 0;

  static std::vector<std::string> csv_header() { return {"file", "frame", "face", "x", "y", "w", "h"}; }
  std::vector<std::string> csv_fields() const {
    return {file, frame >= 0 ? std::to_string(frame) : "", std::to_string(face), std::to_string(x), std::to_string(y),
            std::to_string(w), std::to_string(h)};
  }
  nlohmann::ordered_json json() const {
    return {{"file", file}, {"frame", frame >= 0 ? nlohmann::ordered_json(frame) : nlohmann::ordered_json(nullptr)},
            {"face", face}, {"x", x}, {"y", y}, {"w", w}, {"h", h}};
  }
};

}  // namespace agegender
