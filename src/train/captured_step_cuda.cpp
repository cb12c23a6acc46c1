#include "train/captured_step.hpp"

#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>

namespace agegender {

struct CapturedStep::Graph {
  at::cuda::CUDAGraph graph;
};

bool CapturedStep::available() { return torch::cuda::is_available(); }

CapturedStep::CapturedStep(const std::function<void()>& body, int warmup) : graph_(std::make_unique<Graph>()) {
  // Capture must not happen on the legacy default stream; warm-up on the same side stream.
  const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream();
  const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool();
  at::cuda::CUDAEvent ready;
  ready.record(caller);
  ready.block(side);
  {
    c10::cuda::CUDAStreamGuard guard(side);
    for (int i = 0; i < warmup; ++i) body();
    side.synchronize();
    graph_->graph.capture_begin();
    body();
    graph_->graph.capture_end();
  }
  at::cuda::CUDAEvent captured;
  captured.record(side);
  captured.block(caller);
}

CapturedStep::~CapturedStep() = default;

void CapturedStep::replay() { graph_->graph.replay(); }

}  // namespace agegender
