#pragma once
// Loss and batched inference shared by training (val/test), eval and benchmarks.
#include <torch/torch.h>

#include "agegender/metrics.hpp"
#include "model/face_net.hpp"
#include "model/batch_loader.hpp"

namespace agegender {

/// Loss CE(age) + gender_weight * CE(gender): the batch mean, or the sum over the batch with `sum`.
torch::Tensor face_loss(const ModelOutput& out, const torch::Tensor& age_class, const torch::Tensor& gender,
                        double gender_weight, bool sum = false);

/// Runs `model` (eval mode, no grad) over a whole split; probabilities and labels for compute_metrics.
PredictionSet predict_split(FaceNetImpl& model, const SplitData& data, const ModelInput& input, int batch_size,
                            double gender_weight, const torch::Device& device);

}  // namespace agegender
