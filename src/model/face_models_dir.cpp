// Torch-free, so the OpenCV-only build (AGEGENDER_WITH_TORCH=OFF) finds the models folder the same way.
#include <cstdlib>

#include "agegender/face_embedder.hpp"

namespace agegender {

std::string face_models_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("AGEGENDER_MODELS"); env && *env) return env;
  return "models/face-api";
}

}  // namespace agegender
