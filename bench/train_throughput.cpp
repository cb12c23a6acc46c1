// Training throughput: pure forward+backward+Adam on in-memory tensors vs. the same steps fed by
// BatchLoader (source images -> model size -> augmentation -> normalisation on a background thread). Prints img/s of each
// and their ratio, measured in one process so the comparison is fair on a noisy machine.
//   bench_train_throughput [arch=base_cnn] [size=64] [batch=64] [steps=40] [threads=0] [trainable=-1] [untuned]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agegender/allocator.hpp"
#include "agegender/config.hpp"
#include "agegender/threads.hpp"
#include "model/inference.hpp"
#include "model/face_net.hpp"
#include "model/batch_loader.hpp"

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

  // Loader-fed: synthetic source images at twice the model size (like a 128 px prepared cache feeding a
  // 64 px model), resized per batch and augmented like training.
  const int64_t n = static_cast<int64_t>(batch) * (steps + 4);
  const int source = 2 * size;
  auto pixels = std::make_shared<torch::Tensor>(torch::randint(0, 256, {n, source, source, 3}).to(torch::kUInt8));
  SplitData data;
  data.source_size = source;
  data.image = [pixels, source](size_t row) { return pixels->data_ptr<uint8_t>() + row * source * source * 3; };
  for (int64_t i = 0; i < n; ++i) data.rows.push_back(static_cast<size_t>(i));
  data.age_class = torch::randint(0, 7, {n});
  data.gender = torch::randint(0, 2, {n});
  data.race = data.age = torch::zeros({n}, torch::kLong);
  ModelInput input;
  input.size = size;
  input.source_size = source;
  AugmentConfig aug;
  BatchLoader loader(data, input, batch, true, &aug, 1, 1);
  const double fed = run_steps(*model, opt, steps, [&] {
    Batch b;
    loader.next(b);
    return b;
  });
  std::printf("arch=%s size=%d batch=%d threads=%d trainable=%d allocator=%s  pure %.1f img/s  loader-fed %.1f img/s  ratio %.3f\n",
              arch.c_str(), size, batch, threads, trainable, tuned ? "tuned" : "glibc-default", pure, fed, fed / pure);
  return 0;
}
