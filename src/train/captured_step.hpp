#pragma once
// A CUDA graph of one training step's device work. Capturing once and replaying removes the per-kernel
// launch cost of the host (hundreds of kernels per VGG16 step), which is what keeps a large GPU busy at
// small batches. Compiled in only against a CUDA LibTorch (AGEGENDER_CUDA_GRAPHS); elsewhere available()
// is false and the trainer runs the same body eagerly.
#include <functional>
#include <memory>

namespace agegender {

class CapturedStep {
 public:
  /// Compiled with CUDA graph support and a CUDA device present.
  static bool available();
  /// Runs `body` `warmup` times on a side stream (allocations, cuDNN autotuning), then captures one call.
  /// The body must read and write only tensors that stay alive and keep their shapes.
  CapturedStep(const std::function<void()>& body, int warmup = 3);
  ~CapturedStep();
  /// One replay of the captured body, queued on the current stream (no host wait).
  void replay();

 private:
  struct Graph;
  std::unique_ptr<Graph> graph_;
};

}  // namespace agegender
