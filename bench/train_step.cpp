// Images/s of the full training step `agegender train` runs (TrainStep: model + multi-tensor Adam,
// autocast, channels-last, CUDA graphs on a GPU) fed with real batches from a prepared dataset through the
// trainer's loader (on CUDA: uint8 batches from pinned memory, augmented on the GPU). One JSON line per run,
// in the same shape as bench/torch_reference.py, so scripts/gpu_check.sh can put them side by side.
//   bench_train_step --data DIR [--arch base_cnn|vgg16] [--size 128] [--amp off|bf16|fp16] [--channels-last]
//                    [--batch 64] [--steps 50] [--warmup 10] [--device auto|cpu|cuda] [--threads 0]
//                    [--cuda-graphs on|off]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

#include "agegender/config.hpp"
#include "agegender/error.hpp"
#include "agegender/prepared_dataset.hpp"
#include "agegender/threads.hpp"
#include "model/batch_loader.hpp"
#include "model/device.hpp"
#include "train/foreach_adam.hpp"
#include "train/precision.hpp"
#include "train/train_step.hpp"

using namespace agegender;

int main(int argc, char** argv) {
  CLI::App app{"Images/s of agegender's training step on real prepared batches"};
  std::string data, arch = "base_cnn", amp = "off", device_name = "auto", graphs = "on";
  int size = 128, batch = 64, steps = 50, warmup = 10, threads = 0;
  bool channels_last = false;
  app.add_option("--data", data, "Prepared dataset directory")->required();
  app.add_option("--arch", arch, "Model architecture");
  app.add_option("--size", size, "Input side in pixels");
  app.add_option("--amp", amp, "off | bf16 | fp16");
  app.add_flag("--channels-last", channels_last, "NHWC weights and batches");
  app.add_option("--batch", batch, "Batch size");
  app.add_option("--steps", steps, "Timed steps");
  app.add_option("--warmup", warmup, "Untimed steps first (allocation, cuDNN autotuning, graph capture)");
  app.add_option("--device", device_name, "auto | cpu | cuda");
  app.add_option("--threads", threads, "CPU threads (0 = all cores)");
  app.add_option("--cuda-graphs", graphs, "on | off");
  CLI11_PARSE(app, argc, argv);
  try {
    torch::set_num_threads(resolve_threads(threads));
    const torch::Device device = pick_device(device_name, "--device");
    check_precision(amp, device);
    if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
    const ExperimentConfig cfg = parse_config(resolve_config_tree(
        "", {"model.arch=" + arch, "data.size=" + std::to_string(size), "train.amp=" + amp}));

    const PreparedDataset ds = PreparedDataset::open(data);
    const AgeBinning binning = AgeBinning::by_name(cfg.labels.age_bins);
    const SplitData split = load_split(ds, ds.indices(Split::Train, 1.0), binning);
    if (split.size() < batch) throw UsageError("--data " + data + ": fewer training images than one batch");
    ModelSpec spec;
    spec.arch = arch;
    spec.head = cfg.model.head;
    spec.dropout = cfg.model.dropout;
    spec.input_size = size;
    spec.num_age_classes = binning.num_classes();
    torch::manual_seed(0);
    FaceNet model = build_model(spec);
    model->to(device);
    model->train();
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    ForeachAdam opt(model->parameters(), torch::optim::AdamOptions(cfg.train.lr).weight_decay(cfg.train.weight_decay));
    const HeadDecoder decoder(spec, binning);
    StepSettings s;
    s.device = device;
    s.amp = amp;
    s.channels_last = channels_last;
    s.cuda_graphs = graphs == "on";
    s.loss = {cfg.labels.gender_weight, spec.age_head, cfg.train.age_loss, cfg.train.age_sigma};
    TrainStep step(*model, opt, decoder, s);

    ModelInput input;
    input.size = size;
    input.source_size = split.source_size;
    const bool raw = device.is_cuda();
    const DeviceAugment augment(input.norm, device, true);
    int epoch = 0;
    std::unique_ptr<BatchLoader> loader;
    const auto next = [&](Batch& b) {
      for (;;) {
        if (loader && loader->next(b)) {
          if (b.x.size(0) == batch) return;  // whole batches only: one shape (the epoch's last is short)
          continue;
        }
        loader = std::make_unique<BatchLoader>(split, input, batch, true, &cfg.train.augment, 1, ++epoch, 3,
                                               LoaderOutput{raw, raw});
      }
    };
    const auto one_step = [&] {
      Batch b;
      next(b);
      step.run(b, raw ? &augment : nullptr);
    };
    for (int i = 0; i < warmup; ++i) one_step();
    step.take();  // waits for the device
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) one_step();
    const StepTotals t = step.take();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const nlohmann::json out = {{"bench", "agegender_step"}, {"arch", arch}, {"size", size}, {"amp", amp},
                                {"channels_last", channels_last}, {"batch", batch}, {"device", device.str()},
                                {"cuda_graphs", step.graphed()}, {"params", params}, {"steps", steps},
                                {"images_per_s", t.images / seconds}};
    std::printf("%s\n", out.dump().c_str());
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
