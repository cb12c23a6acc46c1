#pragma once
// Where the real-UTKFace tests find the dataset: $UTKFACE when set (an archive or a folder), else the
// compiled default (../shared/data/UTKFace.tar.gz). When it is missing the test is skipped with the
// path it looked at, except under CI=true, where a skip would hide that nothing was tested: a failure.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace agegender::test {

inline std::string utkface_path() {
  const char* env = std::getenv("UTKFACE");
  return env && *env ? env : UTKFACE_ARCHIVE;
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

/// The npm face models: $AGEGENDER_MODELS when set, else models/face-api in the source tree.
inline std::string face_models_for_tests() {
  if (const char* env = std::getenv("AGEGENDER_MODELS"); env && *env) return env;
  return std::string(AGEGENDER_SOURCE_DIR) + "/models/face-api";
}

}  // namespace agegender::test

#define REQUIRE_UTKFACE(path)                                                                                   \
  do {                                                                                                          \
    if (!std::filesystem::exists(path)) {                                                                       \
      if (agegender::test::running_in_ci()) FAIL() << "UTKFace not found at " << (path) << " (CI=true: required)"; \
      GTEST_SKIP() << "UTKFace not found at " << (path) << " (set $UTKFACE to the archive or folder)";           \
    }                                                                                                           \
  } while (0)

// The npm face models (`name`, e.g. "ssd_mobilenetv1_model") in face_models_for_tests(): skip when absent,
// fail under CI=true.
#define REQUIRE_FACE_MODEL(name)                                                                                 \
  do {                                                                                                           \
    const std::string dir_ = agegender::test::face_models_for_tests();                                            \
    if (!std::filesystem::exists(dir_ + "/" + (name) + "-weights_manifest.json")) {                               \
      if (agegender::test::running_in_ci()) FAIL() << "CI=true but the face model " << (name) << " is missing in " << dir_; \
      GTEST_SKIP() << "face model " << (name) << " not in " << dir_ << " (scripts/fetch_face_models.sh)";      \
    }                                                                                                            \
  } while (0)
