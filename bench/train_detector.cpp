// Fine-tunes one of face-api's face detectors (SSD MobileNetV1, or the Tiny face detector) on hard
// composed scenes made at run time from the TRAIN split's UTKFace crops (bench_detect_scenes scores the
// test split's people), with occluders of many shapes and colours and (--clutter 1) flat shapes on the
// background, and writes a complete face models folder: every file of --models copied, the detector's
// manifest and shard replaced by the tuned weights (TF.js format, float32), so `--models OUT` selects it
// in predict, embed, visitors and the benches. Nothing derived from the images is written but the weights.
//
// SSD loss (the SSD recipe): anchors matched to faces at IoU >= 0.5 (plus each face's best anchor),
// sigmoid cross-entropy on the face logit with 3:1 hard negatives (anchors under IoU 0.4), smooth L1 on
// the box encodings of the matched anchors. Tiny loss (the YOLOv2 recipe): each face is its centre cell's
// best-shaped anchor (offsets, log sizes: squared error; objectness 1, weight 5); every other prediction
// is objectness 0 unless its box already overlaps a face at IoU >= 0.6. A pasted crop's face box is the
// crop mapped through the detector's own box convention, so the tuned detector keeps face-api's framing.
//   bench_train_detector ARCHIVE PREPARED_DIR OUT_DIR [--detector ssd|tiny] [--models models/face-api]
//                        [--steps 600] [--batch 8] [--lr 5e-5] [--freeze-below 6] [--threads 2] [--seed 1]
//                        [--side 640] [--clutter 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <torch/torch.h>

#include "agegender/error.hpp"
#include "agegender/face_api_input.hpp"
#include "agegender/tfjs_weights.hpp"
#include "hard_scenes.hpp"
#include "model/ssd_mobilenet.hpp"
#include "model/tiny_face_detector.hpp"
#include "model/tfjs_torch.hpp"
#include "vision/face_detector.hpp"

using namespace agegender;
namespace fs = std::filesystem;

namespace {

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

// The Tiny detector's loss on its raw grid [N, 25, R, C] (channel = anchor * 5 + (tx, ty, tw, th, t_obj);
// 32 input pixels per cell; anchor sizes in cells, as tiny_postprocess_fit decodes them).
StepLoss tiny_loss(const torch::Tensor& raw, const std::vector<torch::Tensor>& faces) {
  constexpr double kCell = 32, kObjectWeight = 5, kIgnoreIou = 0.6;
  const int64_t n = raw.size(0), rows = raw.size(2), cols = raw.size(3);
  const auto g = raw.view({n, kTinyAnchors, 5, rows, cols}).permute({0, 3, 4, 1, 2});  // [N, R, C, A, 5]
  std::vector<float> sizes;
  for (const auto& a : kTinyAnchorSizes) sizes.push_back(static_cast<float>(a[0])), sizes.push_back(static_cast<float>(a[1]));
  const auto anchor_wh = torch::from_blob(sizes.data(), {kTinyAnchors, 2}).clone();  // (w, h) in cells
  const auto col = torch::arange(cols).view({1, 1, cols, 1}).to(torch::kFloat), row = torch::arange(rows).view({1, rows, 1, 1}).to(torch::kFloat);
  torch::Tensor pred;  // decoded boxes, no gradient: only which predictions to leave out of the negatives
  {
    torch::NoGradGuard no_grad;
    const auto cx = (col + torch::sigmoid(g.select(4, 0))) * kCell, cy = (row + torch::sigmoid(g.select(4, 1))) * kCell;
    const auto w = torch::exp(g.select(4, 2)) * anchor_wh.select(1, 0) * kCell, h = torch::exp(g.select(4, 3)) * anchor_wh.select(1, 1) * kCell;
    pred = torch::stack({cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2}, -1);  // [N, R, C, A, 4]
  }
  std::vector<torch::Tensor> obj_terms, coord_terms;
  int64_t positives = 0;
  for (int64_t b = 0; b < n; ++b) {
    const auto logit = g[b].select(3, 4);  // [R, C, A]
    auto target = torch::zeros_like(logit), weight = torch::ones_like(logit);
    if (faces[static_cast<size_t>(b)].size(0) > 0) {
      const auto& f = faces[static_cast<size_t>(b)];
      const auto overlap = std::get<0>(pairwise_iou(pred[b].reshape({-1, 4}), f).max(1)).view_as(logit);
      weight.masked_fill_(overlap >= kIgnoreIou, 0.0);
      const auto fa = f.accessor<float, 2>();
      std::vector<int64_t> cells;
      std::vector<float> offsets;
      for (int64_t k = 0; k < f.size(0); ++k) {
        const double h = (fa[k][2] - fa[k][0]) / kCell, w = (fa[k][3] - fa[k][1]) / kCell;
        const double cy = (fa[k][0] + fa[k][2]) / 2 / kCell, cx = (fa[k][1] + fa[k][3]) / 2 / kCell;
        const int64_t r = std::clamp<int64_t>(static_cast<int64_t>(cy), 0, rows - 1), c = std::clamp<int64_t>(static_cast<int64_t>(cx), 0, cols - 1);
        int best = 0;
        double best_iou = -1;
        for (int a = 0; a < kTinyAnchors; ++a) {  // shape IoU, centres aligned
          const double aw = kTinyAnchorSizes[a][0], ah = kTinyAnchorSizes[a][1];
          const double inter = std::min(w, aw) * std::min(h, ah), iou = inter / (w * h + aw * ah - inter);
          if (iou > best_iou) best_iou = iou, best = a;
        }
        cells.insert(cells.end(), {r, c, best});
        offsets.insert(offsets.end(), {static_cast<float>(std::clamp(cx - c, 0.0, 1.0)), static_cast<float>(std::clamp(cy - r, 0.0, 1.0)),
                                       static_cast<float>(std::log(w / kTinyAnchorSizes[best][0])),
                                       static_cast<float>(std::log(h / kTinyAnchorSizes[best][1]))});
      }
      const auto idx = torch::from_blob(cells.data(), {f.size(0), 3}, torch::kLong).clone();
      const auto want = torch::from_blob(offsets.data(), {f.size(0), 4}).clone();
      const auto r = idx.select(1, 0), c = idx.select(1, 1), a = idx.select(1, 2);
      target.index_put_({r, c, a}, 1.0);
      weight.index_put_({r, c, a}, kObjectWeight);
      const auto v = g[b].index({r, c, a});  // [F, 5]
      const auto got = torch::cat({torch::sigmoid(v.narrow(1, 0, 2)), v.narrow(1, 2, 2)}, 1);
      coord_terms.push_back((got - want).pow(2).sum());
      positives += f.size(0);
    }
    obj_terms.push_back(torch::binary_cross_entropy_with_logits(logit, target, weight, {}, torch::Reduction::Sum));
  }
  const double scale = static_cast<double>(n);
  const auto obj = torch::stack(obj_terms).sum() / scale;
  const auto coord = coord_terms.empty() ? torch::zeros({}) : torch::stack(coord_terms).sum() / scale;
  return {obj + coord, obj.item<double>(), coord.item<double>(), positives};
}

// The detector being tuned: its network, input, loss and how it is written back.
struct Trainee {
  virtual ~Trainee() = default;
  virtual torch::nn::Module& net() = 0;
  /// Parameters that stay as loaded whatever --freeze-below says.
  virtual bool fixed(const std::string& name) const = 0;
  /// Forward pass + loss; `faces[b]`: image b's face boxes in input pixels (ymin, xmin, ymax, xmax).
  virtual StepLoss loss(const torch::Tensor& x, const std::vector<torch::Tensor>& faces) = 0;
  std::string model;      // face-api's file stem
  std::string layer;      // parameter prefix of layer i: layer + i + "_" or "."
  DetectMode mode;
  FaceApiInput input;
  std::set<std::string> keep_layout;
};

struct SsdTrainee : Trainee {
  SsdMobilenetV1 ssd;
  torch::Tensor stored_anchors, anchors;
  explicit SsdTrainee(const TfjsWeights& w) {
    load_ssd_mobilenet_tfjs(*ssd, w);
    stored_anchors = ssd->anchors().clone();
    model = "ssd_mobilenetv1_model", layer = "MobilenetV1.Conv2d_", mode = DetectMode::Ssd, input = ssd_input();
    keep_layout = {"Output.extra_dim"};
  }
  torch::nn::Module& net() override { return *ssd; }
  // The stored BatchNorm statistics are folded into the convolutions, not re-estimated.
  bool fixed(const std::string& name) const override {
    return name.find("moving_") != std::string::npos || name == "Output.extra_dim";
  }
  StepLoss loss(const torch::Tensor& x, const std::vector<torch::Tensor>& faces) override {
    const SsdRawOutput raw = ssd->forward(x);
    if (!anchors.defined() || anchors.size(0) != raw.box_encodings.size(1)) {
      anchors = ssd_anchors_for(stored_anchors, raw.maps, x.size(2), x.size(3));
    }
    return ssd_loss(raw, anchors, faces);
  }
};

struct TinyTrainee : Trainee {
  TinyFaceDetector tiny;
  explicit TinyTrainee(const TfjsWeights& w, int side) {
    load_tiny_face_detector_tfjs(*tiny, w);
    model = "tiny_face_detector_model", layer = "conv", mode = DetectMode::Tiny, input = tiny_input(side);
  }
  torch::nn::Module& net() override { return *tiny; }
  bool fixed(const std::string&) const override { return false; }
  StepLoss loss(const torch::Tensor& x, const std::vector<torch::Tensor>& faces) override { return tiny_loss(tiny->forward(x), faces); }
};

void copy_models_folder(const std::string& from, const fs::path& to, const std::string& replaced) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(replaced, 0) == 0 || name == "SHA256SUMS") continue;  // replaced / no longer true of this folder
    fs::copy_file(e.path(), to / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: %s ARCHIVE PREPARED_DIR OUT_DIR [--detector ssd|tiny] [--models models/face-api] [--steps 600] "
                 "[--batch 8] [--lr 5e-5] [--freeze-below 6] [--threads 2] [--seed 1] [--side 640] [--clutter 1]\n",
                 argv[0]);
    return 2;
  }
  std::map<std::string, std::string> opt{{"--models", "models/face-api"}, {"--steps", "600"}, {"--batch", "8"},
                                         {"--lr", "5e-5"},  {"--freeze-below", "6"},  {"--threads", "2"},
                                         {"--seed", "1"},   {"--side", "640"},         {"--clutter", "1"},
                                         {"--detector", "ssd"}};
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
  if (opt["--detector"] != "ssd" && opt["--detector"] != "tiny") throw UsageError("--detector " + opt["--detector"] + ": expected ssd or tiny");
  const double lr = std::stod(opt["--lr"]);
  torch::set_num_threads(std::stoi(opt["--threads"]));
  torch::manual_seed(static_cast<uint64_t>(std::stoul(opt["--seed"])));

  std::vector<bench::TestCrop> crops = bench::split_crops(argv[1], argv[2], Split::Train);
  if (crops.empty()) throw UsageError(std::string(argv[2]) + ": no train-split crops of " + argv[1] + " (expected a prepared UTKFace dataset)");
  std::mt19937 rng(static_cast<unsigned>(std::stoul(opt["--seed"])));
  std::shuffle(crops.begin(), crops.end(), rng);
  const bool ssd = opt["--detector"] == "ssd";
  const auto manifest = [&](const std::string& dir) {
    return (fs::path(dir) / ((ssd ? "ssd_mobilenetv1_model" : "tiny_face_detector_model") + std::string("-weights_manifest.json"))).string();
  };
  TfjsWeights weights = read_tfjs_weights(manifest(opt["--models"]));
  std::unique_ptr<Trainee> trainee;
  if (ssd) trainee = std::make_unique<SsdTrainee>(weights);
  else trainee = std::make_unique<TinyTrainee>(weights, side);
  // Trainable: every layer from <layer><freeze-below> up, but what the detector keeps fixed.
  std::vector<torch::Tensor> trainable;
  size_t frozen = 0;
  for (auto& p : trainee->net().named_parameters(true)) {
    bool train = !trainee->fixed(p.key());
    for (int i = 0; i < freeze_below && train; ++i) {
      const std::string layer = trainee->layer + std::to_string(i);
      train = !(p.key().compare(0, layer.size(), layer) == 0 && (p.key()[layer.size()] == '_' || p.key()[layer.size()] == '.'));
    }
    p.value().set_requires_grad(train);
    if (train) trainable.push_back(p.value());
    else ++frozen;
  }
  torch::optim::Adam adam(trainable, torch::optim::AdamOptions(lr));
  const BoxConvention conv = box_convention(trainee->mode);
  const bench::SceneStyle style{side, side * 3 / 4, 24, std::min(300, side * 3 / 4 - 16), 4, true, opt["--clutter"] == "1"};
  std::printf("%s: %zu train-split crops; %zu trainable tensors, %zu frozen; %d steps of %d scenes %dx%d, Adam %.1e, %d threads\n",
              trainee->model.c_str(), crops.size(), trainable.size(), frozen, steps, batch, style.width, style.height, lr,
              torch::get_num_threads());

  size_t next = 0;
  double cls_sum = 0, loc_sum = 0;
  int64_t pos_sum = 0, summed = 0;  // since the last progress line
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
      face_api_preprocess_fit(rgb.data, rgb.rows, rgb.cols, rgb.rows, rgb.cols, rgb.rows, rgb.cols, trainee->input, x[b].data_ptr<float>());
      std::vector<float> boxes;
      for (const auto& p : s.faces) {
        const cv::Rect2d r = conv.box_of(p.at);
        for (const double v : {r.y, r.x, r.y + r.height, r.x + r.width}) boxes.push_back(static_cast<float>(v));
      }
      faces.push_back(torch::from_blob(boxes.data(), {static_cast<int64_t>(boxes.size() / 4), 4}).clone());
    }
    const StepLoss loss = trainee->loss(x.contiguous(torch::MemoryFormat::ChannelsLast), faces);
    adam.zero_grad();
    loss.total.backward();
    adam.step();
    cls_sum += loss.cls, loc_sum += loss.loc, pos_sum += loss.positives, ++summed;
    if (step % 20 == 0 || step == steps) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), n = static_cast<double>(summed);
      std::printf("step %4d/%d  cls %.4f  loc %.4f  positives/image %.1f  lr %.2e  %.2f scenes/s\n", step, steps, cls_sum / n,
                  loc_sum / n, static_cast<double>(pos_sum) / (n * batch), lr * f, step * batch / s);
      cls_sum = loc_sum = 0, pos_sum = 0, summed = 0;
    }
  }
  const fs::path out = argv[3], tmp = out.string() + ".tmp";
  fs::remove_all(tmp);
  copy_models_folder(opt["--models"], tmp, trainee->model);
  store_tfjs_parameters(trainee->net(), weights, "", trainee->keep_layout);
  write_tfjs_weights(weights, manifest(tmp.string()));
  fs::remove_all(out);
  fs::rename(tmp, out);
  std::printf("wrote %s (face models with the tuned %s)\n", out.c_str(), trainee->model.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return dynamic_cast<const UsageError*>(&e) ? 2 : 1;
}
