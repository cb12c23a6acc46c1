#pragma once
// The leading columns every per-face output shares (predict, embed): where the face is.
// `frame` -1 = a still image (an empty CSV field, JSON null).
#include <cstdio>
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

/// The optional trailing columns of `--landmarks`: the detector's score and the 68 landmarks, as
/// "x0 y0 x1 y1 ..." in one CSV field (pixels, 0.1 px) or [[x, y], ...] in JSON. Empty on error rows.
struct FaceLandmarks {
  float score = 0;
  std::vector<float> xy;  // 2 per point

  static std::vector<std::string> csv_header() { return {"score", "landmarks"}; }
  std::vector<std::string> csv_fields(bool ok) const {
    std::string pts;
    char b[32];
    for (size_t i = 0; i < xy.size(); ++i) {
      std::snprintf(b, sizeof b, "%s%.1f", i ? " " : "", xy[i]);
      pts += b;
    }
    std::snprintf(b, sizeof b, "%.4f", score);
    return {ok ? b : "", ok ? pts : ""};
  }
  void add_json(nlohmann::ordered_json& j, bool ok) const {
    j["score"] = ok ? nlohmann::ordered_json(score) : nullptr;
    nlohmann::ordered_json pts = nlohmann::ordered_json::array();
    for (size_t i = 0; i + 1 < xy.size(); i += 2) pts.push_back({xy[i], xy[i + 1]});
    j["landmarks"] = ok && !xy.empty() ? pts : nullptr;
  }
};

}  // namespace agegender
