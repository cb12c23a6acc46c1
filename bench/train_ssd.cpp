// Fine-tunes face-api's SSD MobileNetV1 face detector on hard composed scenes made at run time from the
// TRAIN split's UTKFace crops (bench_detect_scenes scores the test split's people), with occluders of
// many shapes and colours and (--clutter 1) flat shapes on the background, and writes a complete face
// models folder: every file of --models copied, the SSD's manifest and shard replaced by the tuned
// weights (TF.js format, float32), so `--models OUT` selects it in predict, embed, visitors and the
// benches. Nothing derived from the images is written but the weights.
//
// Loss (the SSD recipe): anchors matched to faces at IoU >= 0.5 (plus each face's best anchor), sigmoid
// cross-entropy on the face logit with 3:1 hard negatives (anchors under IoU 0.4), smooth L1 on the box
// encodings of the matched anchors. The face box of a pasted crop is the crop mapped through SSD's own
// box convention (kSsdBoxes), so the tuned detector keeps face-api's framing.
//   bench_train_ssd ARCHIVE PREPARED_DIR OUT_DIR [--models models/face-api] [--steps 600] [--batch 8]
//                   [--lr 5e-5] [--freeze-below 6] [--threads 2] [--seed 1] [--side 640] [--clutter 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <torch/torch.h>

#include "agegender/error.hpp"
#include "agegender/face_api_input.hpp"
#include "agegender/tfjs_weights.hpp"
#include "hard_scenes.hpp"
#include "model/ssd_mobilenet.hpp"
#include "model/tfjs_torch.hpp"
#include "vision/face_detector.hpp"

using namespace agegender;
namespace fs = std::filesystem;

namespace {

constexpr char kSsd[] = "ssd_mobilenetv1_model";

// Pairwise IoU of boxes (ymin, xmin, ymax, xmax): [A, 4] x [G, 4] -> [A, G].
torch::Tensor pairwise_iou(const torch::Tensor& a, const torch::Tensor& g) {
  const auto a4 = a.unsqueeze(1), g4 = g.unsqueeze(0);
  const auto lo = torch::max(a4.narrow(2, 0, 2), g4.narrow(2, 0, 2)), hi = torch::min(a4.narrow(2, 2, 2), g4.narrow(2, 2, 2));
  const auto wh = (hi - lo).clamp_min(0);
  const auto inter = wh.select(2, 0) * wh.select(2, 1);
  const auto area = [](const torch::Tensor& b) { return (b.select(2, 2) - b.select(2, 0)) * (b.select(2, 3) - b.select(2, 1)); };
  return inter / (area(a4) + area(g4) - inter);
}

// ssd_decode_boxes' inverse: the encodings (ty, tx, th, tw) that put `anchors` onto `boxes`.
torch::Tensor encode(const torch::Tensor& anchors, const torch::Tensor& boxes) {
  const auto asize = anchors.narrow(1, 2, 2) - anchors.narrow(1, 0, 2), bsize = boxes.narrow(1, 2, 2) - boxes.narrow(1, 0, 2);
  const auto acentre = anchors.narrow(1, 0, 2) + asize / 2, bcentre = boxes.narrow(1, 0, 2) + bsize / 2;
  return torch::cat({(bcentre - acentre) / asize * 10, torch::log(bsize / asize) * 5}, 1);
}

struct StepLoss {
  torch::Tensor total;
  double cls = 0, loc = 0;
  int64_t positives = 0;
};

// The loss of one batch: `faces[b]` are image b's face boxes in input pixels (ymin, xmin, ymax, xmax).
StepLoss ssd_loss(const SsdRawOutput& raw, const torch::Tensor& anchors, const std::vector<torch::Tensor>& faces) {
  std::vector<torch::Tensor> cls_terms, loc_terms;
  int64_t positives = 0;
  for (size_t b = 0; b < faces.size(); ++b) {
    const auto logit = raw.class_logits[static_cast<int64_t>(b)].select(1, 1);
    auto target = torch::zeros_like(logit);
    auto negative = torch::ones_like(logit, torch::kBool);
    if (faces[b].size(0) > 0) {
      const auto iou = pairwise_iou(anchors, faces[b]);
      auto [best, which] = iou.max(1);
      const auto best_anchor = iou.argmax(0);  // every face gets at least its best anchor
      which.index_put_({best_anchor}, torch::arange(faces[b].size(0)));
      best.index_put_({best_anchor}, 1.0);
      const auto pos = best >= 0.5;
      negative = best < 0.4;
      target.masked_fill_(pos, 1.0);
      const auto idx = pos.nonzero().squeeze(1);
      positives += idx.size(0);
      const auto t = encode(anchors.index_select(0, idx), faces[b].index_select(0, which.index_select(0, idx)));
      const auto e = raw.box_encodings[static_cast<int64_t>(b)].index_select(0, idx);
      loc_terms.push_back(torch::smooth_l1_loss(e, t, torch::Reduction::Sum));
    }
    const auto bce = torch::binary_cross_entropy_with_logits(logit, target, {}, {}, torch::Reduction::None);
    const auto pos_loss = bce.masked_select(target > 0.5).sum();
    const auto neg = bce.masked_select(negative);
    const int64_t keep = std::min<int64_t>(neg.size(0), std::max<int64_t>(3 * (target > 0.5).sum().item<int64_t>(), 16));
    cls_terms.push_back(pos_loss + std::get<0>(neg.topk(keep)).sum());
  }
  const double n = static_cast<double>(std::max<int64_t>(positives, 1));
  const auto cls = torch::stack(cls_terms).sum() / n;
  const auto loc = loc_terms.empty() ? torch::zeros({}) : torch::stack(loc_terms).sum() / n;
  return {cls + loc, cls.item<double>(), loc.item<double>(), positives};
}

void copy_models_folder(const std::string& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kSsd, 0) == 0 || name == "SHA256SUMS") continue;  // replaced / no longer true of this folder
    fs::copy_file(e.path(), to / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: %s ARCHIVE PREPARED_DIR OUT_DIR [--models models/face-api] [--steps 600] [--batch 8] [--lr 5e-5] "
                 "[--freeze-below 6] [--threads 2] [--seed 1] [--side 640] [--clutter 1]\n",
                 argv[0]);
    return 2;
  }
  std::map<std::string, std::string> opt{{"--models", "models/face-api"}, {"--steps", "600"}, {"--batch", "8"},
                                         {"--lr", "5e-5"},  {"--freeze-below", "6"},  {"--threads", "2"},
                                         {"--seed", "1"},   {"--side", "640"},         {"--clutter", "1"}};
  for (int i = 4; i + 1 < argc; i += 2) {
    if (!opt.count(argv[i])) {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
    opt[argv[i]] = argv[i + 1];
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int steps = std::stoi(opt["--steps"]), batch = std::stoi(opt["--batch"]), freeze_below = std::stoi(opt["--freeze-below"]);
  const int side = std::stoi(opt["--side"]);
  if (side % 32 != 0 || side < 128) throw UsageError("--side " + opt["--side"] + ": expected a multiple of 32, >= 128");
  if (opt["--clutter"] != "0" && opt["--clutter"] != "1") throw UsageError("--clutter " + opt["--clutter"] + ": expected 0 or 1");
  const double lr = std::stod(opt["--lr"]);
  torch::set_num_threads(std::stoi(opt["--threads"]));
  torch::manual_seed(static_cast<uint64_t>(std::stoul(opt["--seed"])));

  std::vector<bench::TestCrop> crops = bench::split_crops(argv[1], argv[2], Split::Train);
  if (crops.empty()) throw UsageError(std::string(argv[2]) + ": no train-split crops of " + argv[1] + " (expected a prepared UTKFace dataset)");
  std::mt19937 rng(static_cast<unsigned>(std::stoul(opt["--seed"])));
  std::shuffle(crops.begin(), crops.end(), rng);
  const std::string manifest = (fs::path(opt["--models"]) / (std::string(kSsd) + "-weights_manifest.json")).string();
  TfjsWeights weights = read_tfjs_weights(manifest);
  SsdMobilenetV1 net;
  load_ssd_mobilenet_tfjs(*net, weights);
  const torch::Tensor stored_anchors = net->anchors().clone();
  // Trainable: the box predictors, the extra layers and the backbone from Conv2d_<freeze-below> up; the
  // stored BatchNorm statistics stay (they are folded into the convolutions, not re-estimated).
  std::vector<torch::Tensor> trainable;
  size_t frozen = 0;
  for (auto& p : net->named_parameters(true)) {
    bool train = p.key().find("moving_") == std::string::npos && p.key() != "Output.extra_dim";
    for (int i = 0; i < freeze_below && train; ++i) {
      const std::string layer = "MobilenetV1.Conv2d_" + std::to_string(i) + "_";
      train = p.key().compare(0, layer.size(), layer) != 0;
    }
    p.value().set_requires_grad(train);
    if (train) trainable.push_back(p.value());
    else ++frozen;
  }
  torch::optim::Adam adam(trainable, torch::optim::AdamOptions(lr));
  const BoxConvention conv = box_convention(DetectMode::Ssd);
  const bench::SceneStyle style{side, side * 3 / 4, 24, std::min(300, side * 3 / 4 - 16), 4, true, opt["--clutter"] == "1"};
  std::printf("%zu train-split crops; %zu trainable tensors, %zu frozen; %d steps of %d scenes %dx%d, Adam %.1e, %d threads\n",
              crops.size(), trainable.size(), frozen, steps, batch, style.width, style.height, lr, torch::get_num_threads());

  torch::Tensor anchors;
  size_t next = 0;
  double cls_sum = 0, loc_sum = 0;
  int64_t pos_sum = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int step = 1; step <= steps; ++step) {
    // Linear warm-up over the first 5 % of steps, then cosine to zero.
    const double warm = std::max(1.0, steps * 0.05), f = step <= warm ? step / warm : 0.5 * (1 + std::cos(M_PI * (step - warm) / (steps - warm)));
    for (auto& g : adam.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr * f);
    torch::Tensor x = torch::empty({batch, 3, style.height, style.width});
    std::vector<torch::Tensor> faces;
    for (int b = 0; b < batch; ++b) {
      const bench::Scene s = bench::make_scene(crops, rng, next, style);
      cv::Mat rgb;
      cv::cvtColor(s.bgr, rgb, cv::COLOR_BGR2RGB);
      face_api_preprocess_fit(rgb.data, rgb.rows, rgb.cols, rgb.rows, rgb.cols, rgb.rows, rgb.cols, ssd_input(), x[b].data_ptr<float>());
      std::vector<float> boxes;
      for (const auto& p : s.faces) {
        const cv::Rect2d r = conv.box_of(p.at);
        for (const double v : {r.y, r.x, r.y + r.height, r.x + r.width}) boxes.push_back(static_cast<float>(v));
      }
      faces.push_back(torch::from_blob(boxes.data(), {static_cast<int64_t>(boxes.size() / 4), 4}).clone());
    }
    const SsdRawOutput raw = net->forward(x.contiguous(torch::MemoryFormat::ChannelsLast));
    if (!anchors.defined()) anchors = ssd_anchors_for(stored_anchors, raw.maps, style.height, style.width);
    const StepLoss loss = ssd_loss(raw, anchors, faces);
    adam.zero_grad();
    loss.total.backward();
    adam.step();
    cls_sum += loss.cls, loc_sum += loss.loc, pos_sum += loss.positives;
    if (step % 20 == 0 || step == steps) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("step %4d/%d  cls %.4f  loc %.4f  positives/image %.1f  lr %.2e  %.2f scenes/s\n", step, steps, cls_sum / 20,
                  loc_sum / 20, static_cast<double>(pos_sum) / (20.0 * batch), lr * f, step * batch / s);
      cls_sum = loc_sum = 0, pos_sum = 0;
    }
  }
  const fs::path out = argv[3], tmp = out.string() + ".tmp";
  fs::remove_all(tmp);
  copy_models_folder(opt["--models"], tmp);
  store_tfjs_parameters(*net, weights, "", {"Output.extra_dim"});
  write_tfjs_weights(weights, (tmp / (std::string(kSsd) + "-weights_manifest.json")).string());
  fs::remove_all(out);
  fs::rename(tmp, out);
  std::printf("wrote %s (face models with the tuned SSD)\n", out.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return dynamic_cast<const UsageError*>(&e) ? 2 : 1;
}
