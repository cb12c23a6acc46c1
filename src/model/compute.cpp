#include "agegender/compute.hpp"

#include <torch/torch.h>

namespace agegender {
void set_compute_threads(int threads) { torch::set_num_threads(threads); }
}  // namespace agegender
