#pragma once
// Runs face-api's own networks (tests/reference, Node + TF.js WASM) on raw RGB pixels that the C++ side
// decoded, so both implementations see identical pixels. Used by the parity tests.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "utkface_archive.hpp"

namespace agegender::test {

struct RgbImage {
  int height = 0, width = 0;
  std::vector<uint8_t> pixels;  // HWC RGB
};

/// Why the reference can't run here ("" when it can): no models, no node, no node_modules.
inline std::string face_api_reference_missing() {
  const std::string ref = std::string(AGEGENDER_SOURCE_DIR) + "/tests/reference";
  if (!fs::exists(face_models_for_tests() + "/face_recognition_model-weights_manifest.json")) {
    return "face models missing in " + face_models_for_tests() + " (scripts/fetch_face_models.sh)";
  }
  if (run_shell("command -v node").exit_code != 0) return "node not installed";
  if (!fs::exists(ref + "/node_modules/@vladmandic/face-api")) return "tests/reference/node_modules missing (tests/reference/setup.sh)";
  return "";
}

/// Skips with the reason, or fails under CI=true, when the reference can't run.
#define REQUIRE_FACE_API_REFERENCE()                                                  \
  do {                                                                                \
    const std::string why = ::agegender::test::face_api_reference_missing();          \
    if (!why.empty()) {                                                               \
      if (::agegender::test::running_in_ci()) FAIL() << "CI=true but " << why;        \
      GTEST_SKIP() << why;                                                            \
    }                                                                                 \
  } while (0)

/// node face_api_ref.mjs --task TASK on `images` with the face models in `models` (default: the tests'
/// face-api folder); returns its JSON.
inline nlohmann::json run_face_api_reference(const std::string& task, const std::vector<RgbImage>& images,
                                             const std::string& extra_args = "", std::string models = "") {
  if (models.empty()) models = face_models_for_tests();
  TempDir tmp;
  std::string raw;
  for (const auto& im : images) {
    const uint32_t hw[2] = {static_cast<uint32_t>(im.height), static_cast<uint32_t>(im.width)};
    raw.append(reinterpret_cast<const char*>(hw), sizeof hw);
    raw.append(reinterpret_cast<const char*>(im.pixels.data()), im.pixels.size());
  }
  write_file(tmp.path() / "in.rgb", raw);
  const RunResult r = run_shell("node " + std::string(AGEGENDER_SOURCE_DIR) + "/tests/reference/face_api_ref.mjs --task " +
                                task + " --models " + models + " --input " + tmp.str("in.rgb") +
                                " --out " + tmp.str("out.json") + " " + extra_args);
  if (r.exit_code != 0) throw std::runtime_error("face-api reference failed: " + r.output);
  return nlohmann::json::parse(read_file(tmp.path() / "out.json"));
}

}  // namespace agegender::test
