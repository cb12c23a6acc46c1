// Training throughput: pure forward+backward+Adam on in-memory tensors vs. the same steps fed by
// BatchLoader (uint8 split -> augmentation -> normalisation on a background thread). Prints img/s of each
// and their ratio, measured in one process so the comparison is fair on a noisy machine.
//   bench_train_throughput [arch=base_cnn] [size=64] [batch=64] [steps=40] [threads=0] [trainable=-1] [untuned]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agegender/allocator.hpp"
#include "agegender/config.hpp"
#include "agegender/threads.hpp"
#include "eval/inference.hpp"
#include "models/face_net.hpp"
#include "train/batch_loader.hpp"

using namespace agegender;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <typename NextBatch>
double run_steps(FaceNetImpl& model, torch::optim::Optimizer& opt, int steps, NextBatch next) {
  double t0 = 0;
  long images = 0;
  for (int s = -3; s < steps; ++s) {  // 3 warm-up steps
    if (s == 0) t0 = now(), images = 0;
    Batch b = next();
    opt.zero_grad();
    const auto loss = face_loss(model.forward(b.x), b.age_class, b.gender, 1.0);
    loss.backward();
    opt.step();
    images += b.x.size(0);
  }
  return images / (now() - t0);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string arch = argc > 1 ? argv[1] : "base_cnn";
  const int size = argc > 2 ? std::atoi(argv[2]) : 64, batch = argc > 3 ? std::atoi(argv[3]) : 64;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 40, threads = resolve_threads(argc > 5 ? std::atoi(argv[5]) : 0);
  const int trainable = argc > 6 ? std::atoi(argv[6]) : -1;
  const bool tuned = !(argc > 7 && std::string(argv[7]) == "untuned");
  if (tuned) tune_allocator();
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  ModelSpec spec;
  spec.arch = arch;
  spec.input_size = size;
  spec.trainable_conv_layers = trainable;
  FaceNet model = build_model(spec);
  model->train();
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  torch::optim::Adam opt(params, torch::optim::AdamOptions(1e-3));

  // Pure compute: one fixed in-memory batch.
  Batch fixed{torch::randn({batch, 3, size, size}), torch::randint(0, 7, {batch}), torch::randint(0, 2, {batch}),
              torch::zeros({batch}, torch::kLong), torch::zeros({batch}, torch::kLong)};
  const double pure = run_steps(*model, opt, steps, [&] { return fixed; });

  // Loader-fed: a synthetic uint8 split big enough for the run, augmented like training.
  const int64_t n = static_cast<int64_t>(batch) * (steps + 4);
  SplitData data{torch::randint(0, 256, {n, 3, size, size}).to(torch::kUInt8), torch::randint(0, 7, {n}),
                 torch::randint(0, 2, {n}), torch::zeros({n}, torch::kLong), torch::zeros({n}, torch::kLong)};
  AugmentConfig aug;
  BatchLoader loader(data, batch, true, &aug, 1, 1, Normalization::plain(3));
  const double fed = run_steps(*model, opt, steps, [&] {
    Batch b;
    loader.next(b);
    return b;
  });
  std::printf("arch=%s size=%d batch=%d threads=%d trainable=%d allocator=%s  pure %.1f img/s  loader-fed %.1f img/s  ratio %.3f\n",
              arch.c_str(), size, batch, threads, trainable, tuned ? "tuned" : "glibc-default", pure, fed, fed / pure);
  return 0;
}
