#include "train/captured_step.hpp"

#include "agegender/error.hpp"

namespace agegender {

struct CapturedStep::Graph {};

bool CapturedStep::available() { return false; }

CapturedStep::CapturedStep(const std::function<void()>&, int) {
  throw RuntimeError("this build has no CUDA graph support (built without a CUDA LibTorch, or -DAGEGENDER_CUDA_GRAPHS=OFF)");
}

CapturedStep::~CapturedStep() = default;

void CapturedStep::replay() {}

}  // namespace agegender
