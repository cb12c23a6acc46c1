#include "model/ssd_mobilenet.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "agegender/tfjs_weights.hpp"
#include "model/tfjs_torch.hpp"

namespace agegender {

namespace {

// ReLU6, in place on a fresh activation.
torch::Tensor clip6(torch::Tensor x) { return x.clamp_(0.0, 6.0); }

// MobileNet channel plan: Conv2d_i_pointwise output channels and depthwise strides, i = 1..13.
constexpr int64_t kPointwiseOut[13] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
constexpr int64_t kDepthwiseStride[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};
// Extra layers Prediction/Conv2d_j_pointwise: {in, out, kernel, stride}.
constexpr int64_t kExtra[8][4] = {{1024, 256, 1, 1}, {256, 512, 3, 2}, {512, 128, 1, 1}, {128, 256, 3, 2},
                                  {256, 128, 1, 1},  {128, 256, 3, 2}, {256, 64, 1, 1},  {64, 128, 3, 2}};
// Box predictors: input channels and anchors per cell.
constexpr int64_t kPredictorIn[6] = {512, 1024, 512, 256, 256, 128};
constexpr int64_t kPredictorAnchors[6] = {3, 6, 6, 6, 6, 6};

}  // namespace

TfBatchNormImpl::TfBatchNormImpl(int64_t channels) {
  gamma = register_parameter("gamma", torch::ones({channels}));
  beta = register_parameter("beta", torch::zeros({channels}));
  moving_mean = register_parameter("moving_mean", torch::zeros({channels}));
  moving_variance = register_parameter("moving_variance", torch::ones({channels}));
}

torch::Tensor TfBatchNormImpl::forward(const torch::Tensor& x) {
  const torch::Tensor scale = gamma * torch::rsqrt(moving_variance + kSsdBatchNormEps);
  const torch::Tensor shift = beta - moving_mean * scale;
  return torch::addcmul(shift.view({1, -1, 1, 1}), x, scale.view({1, -1, 1, 1}));
}

SsdDepthwiseImpl::SsdDepthwiseImpl(int64_t channels, int64_t stride) : channels_(channels), stride_(stride) {
  depthwise_weights = register_parameter("depthwise_weights", torch::empty({channels, 1, 3, 3}));
  torch::nn::init::kaiming_uniform_(depthwise_weights, std::sqrt(5.0));
  BatchNorm = register_module("BatchNorm", TfBatchNorm(channels));
}

torch::Tensor SsdDepthwiseImpl::forward(const torch::Tensor& x) {
  // BatchNorm is per channel, so it folds into the depthwise filter and a bias (C x 9 multiplications
  // instead of a pass over the map); equal to conv-then-BatchNorm up to float rounding.
  const torch::Tensor scale = BatchNorm->gamma * torch::rsqrt(BatchNorm->moving_variance + kSsdBatchNormEps);
  const torch::Tensor weight = depthwise_weights * scale.view({-1, 1, 1, 1});
  const torch::Tensor bias = BatchNorm->beta - BatchNorm->moving_mean * scale;
  torch::Tensor d = tf_padded_conv(x, 3, stride_, TfPadding::Same, [&](const torch::Tensor& in, int64_t pad) {
    return tf_conv2d(in, weight, bias, stride_, pad, channels_);
  });
  return d.clamp_(0.0, 6.0);
}

SsdBackboneImpl::SsdBackboneImpl() {
  conv0_ = register_module("Conv2d_0_pointwise", TfConv(3, 32, 3, 2, TfPadding::Same, "convolution_bn_offset"));
  int64_t channels = 32;
  for (int i = 1; i <= 13; ++i) {
    const std::string n = std::to_string(i);
    depthwise_.push_back(register_module("Conv2d_" + n + "_depthwise", SsdDepthwise(channels, kDepthwiseStride[i - 1])));
    pointwise_.push_back(register_module("Conv2d_" + n + "_pointwise",
                                         TfConv(channels, kPointwiseOut[i - 1], 1, 1, TfPadding::Same, "convolution_bn_offset")));
    channels = kPointwiseOut[i - 1];
  }
}

SsdFeatures SsdBackboneImpl::forward(const torch::Tensor& x) {
  SsdFeatures f;
  torch::Tensor out = clip6(conv0_->forward(x));
  for (size_t i = 0; i < depthwise_.size(); ++i) {
    out = clip6(pointwise_[i]->forward(depthwise_[i]->forward(out)));
    if (i + 1 == 11) f.conv11 = out;
  }
  f.out = out;
  return f;
}

SsdBoxPredictorImpl::SsdBoxPredictorImpl(int64_t in, int64_t anchors) {
  BoxEncodingPredictor = register_module("BoxEncodingPredictor", TfConv(in, anchors * 4, 1, 1, TfPadding::Valid, "biases"));
  ClassPredictor = register_module("ClassPredictor", TfConv(in, anchors * 3, 1, 1, TfPadding::Valid, "biases"));
}

SsdPredictionImpl::SsdPredictionImpl() {
  for (int j = 0; j < 8; ++j) {
    const auto* e = kExtra[j];
    extra_.push_back(register_module("Conv2d_" + std::to_string(j) + "_pointwise",
                                     TfConv(e[0], e[1], e[2], e[3], TfPadding::Same, "convolution_bn_offset")));
  }
  for (int k = 0; k < 6; ++k) {
    predictors_.push_back(register_module("BoxPredictor_" + std::to_string(k), SsdBoxPredictor(kPredictorIn[k], kPredictorAnchors[k])));
  }
}

SsdRawOutput SsdPredictionImpl::forward(const SsdFeatures& features) {
  std::vector<torch::Tensor> maps = {features.conv11, features.out};
  torch::Tensor x = features.out;
  for (size_t j = 0; j < extra_.size(); ++j) {
    x = clip6(extra_[j]->forward(x));
    if (j % 2 == 1) maps.push_back(x);  // Conv2d_1, 3, 5, 7 feed predictors 2..5
  }
  std::vector<torch::Tensor> boxes, classes;
  const int64_t n = features.out.size(0);
  std::vector<std::array<int64_t, 2>> sizes;
  for (size_t k = 0; k < predictors_.size(); ++k) {
    sizes.push_back({maps[k].size(2), maps[k].size(3)});
    // NCHW -> NHWC, then row-major (cell y, cell x, anchor) like TF's reshape.
    boxes.push_back(predictors_[k]->BoxEncodingPredictor->forward(maps[k]).permute({0, 2, 3, 1}).reshape({n, -1, 4}));
    classes.push_back(predictors_[k]->ClassPredictor->forward(maps[k]).permute({0, 2, 3, 1}).reshape({n, -1, 3}));
  }
  return {torch::cat(boxes, 1), torch::cat(classes, 1), sizes};
}

SsdMobilenetV1Impl::SsdMobilenetV1Impl() {
  MobilenetV1 = register_module("MobilenetV1", SsdBackbone());
  Prediction = register_module("Prediction", SsdPrediction());
  auto output = register_module("Output", std::make_shared<torch::nn::Module>("Output"));
  extra_dim = output->register_parameter("extra_dim", torch::zeros({1, kSsdBoxes, 4}), /*requires_grad=*/false);
}

SsdRawOutput SsdMobilenetV1Impl::forward(const torch::Tensor& x) { return Prediction->forward(MobilenetV1->forward(x)); }

FaceApiInput ssd_input() {
  FaceApiInput in;
  in.size = kSsdInput;
  in.centered = false;
  for (float& m : in.mean) m = 127.5f;
  in.divisor = 127.5f;
  return in;
}

torch::Tensor ssd_decode_boxes(const torch::Tensor& anchors, const torch::Tensor& encodings) {
  const torch::Tensor a = anchors.to(torch::kFloat), t = encodings.to(torch::kFloat);
  const torch::Tensor size = a.slice(1, 2, 4) - a.slice(1, 0, 2);  // (h, w)
  const torch::Tensor centre = a.slice(1, 0, 2) + size / 2;
  const torch::Tensor c = t.slice(1, 0, 2) / 10 * size + centre;
  const torch::Tensor half = torch::exp(t.slice(1, 2, 4) / 5) * size / 2;
  return torch::cat({c - half, c + half}, 1);
}

namespace {

double ssd_iou(const float* a, const float* b) {
  const double ay0 = std::min(a[0], a[2]), ax0 = std::min(a[1], a[3]), ay1 = std::max(a[0], a[2]), ax1 = std::max(a[1], a[3]);
  const double by0 = std::min(b[0], b[2]), bx0 = std::min(b[1], b[3]), by1 = std::max(b[0], b[2]), bx1 = std::max(b[1], b[3]);
  const double area_a = (ay1 - ay0) * (ax1 - ax0), area_b = (by1 - by0) * (bx1 - bx0);
  if (area_a <= 0 || area_b <= 0) return 0.0;
  const double inter = std::max(std::min(ay1, by1) - std::max(ay0, by0), 0.0) * std::max(std::min(ax1, bx1) - std::max(ax0, bx0), 0.0);
  return inter / (area_a + area_b - inter);
}

}  // namespace

std::vector<int64_t> ssd_nms(const float* boxes, const float* scores, int64_t count, int max_results, float iou_threshold,
                             float min_score) {
  std::vector<int64_t> candidates;
  for (int64_t i = 0; i < count; ++i) {
    if (scores[i] > min_score) candidates.push_back(i);
  }
  // JS Array.prototype.sort is stable: equal scores keep index order.
  std::stable_sort(candidates.begin(), candidates.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  const int64_t limit = std::min<int64_t>(max_results, count);
  std::vector<int64_t> kept;
  for (const int64_t c : candidates) {
    if (static_cast<int64_t>(kept.size()) >= limit) break;
    bool suppressed = false;
    for (auto it = kept.rbegin(); it != kept.rend() && !suppressed; ++it) {
      suppressed = ssd_iou(boxes + c * 4, boxes + *it * 4) > iou_threshold;
    }
    if (!suppressed) kept.push_back(c);
  }
  return kept;
}

FaceBox ssd_box_to_pixels(const float* box, float score, int height, int width) {
  const double s = static_cast<double>(kSsdInput) / std::max(height, width);
  const double pad_x = kSsdInput / std::floor(width * s + 0.5), pad_y = kSsdInput / std::floor(height * s + 0.5);
  const double top = std::max(0.0, static_cast<double>(box[0])) * pad_y, bottom = std::min(1.0, static_cast<double>(box[2])) * pad_y;
  const double left = std::max(0.0, static_cast<double>(box[1])) * pad_x, right = std::min(1.0, static_cast<double>(box[3])) * pad_x;
  FaceBox b;
  b.x = static_cast<float>(left * width);
  b.y = static_cast<float>(top * height);
  b.w = static_cast<float>((right - left) * width);
  b.h = static_cast<float>((bottom - top) * height);
  b.score = score;
  return b;
}

torch::Tensor ssd_anchors_for(const torch::Tensor& stored, const std::vector<std::array<int64_t, 2>>& maps, int64_t input_h,
                              int64_t input_w) {
  const torch::Tensor ref = stored.to(torch::kFloat).contiguous();
  const float* r = ref.data_ptr<float>();
  std::vector<float> out;
  int64_t level_start = 0;  // first stored anchor of the level (512 px grid: 32, 16, 8, 4, 2, 1 cells)
  for (size_t k = 0; k < maps.size(); ++k) {
    const int64_t per_cell = kPredictorAnchors[k], ref_cells = kSsdInput >> (4 + k);
    const auto [rows, cols] = maps[k];
    const double step_y = static_cast<double>(input_h) / rows, step_x = static_cast<double>(input_w) / cols;
    for (int64_t y = 0; y < rows; ++y) {
      for (int64_t x = 0; x < cols; ++x) {
        for (int64_t a = 0; a < per_cell; ++a) {
          const float* shape = r + (level_start + a) * 4;  // cell (0, 0): every cell has the same shapes
          const double h = (shape[2] - shape[0]) * kSsdInput, w = (shape[3] - shape[1]) * kSsdInput;
          const double cy = (y + 0.5) * step_y, cx = (x + 0.5) * step_x;
          for (const double v : {cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2}) out.push_back(static_cast<float>(v));
        }
      }
    }
    level_start += ref_cells * ref_cells * per_cell;
  }
  return torch::from_blob(out.data(), {static_cast<int64_t>(out.size() / 4), 4}, torch::kFloat).clone();
}

namespace {

// Decoded boxes (in the anchors' units), scores and face-api's NMS; `emit(box, score)` per kept box.
template <typename Emit>
void ssd_kept(const torch::Tensor& anchors, const torch::Tensor& encodings, const torch::Tensor& logits, float min_score,
              int max_results, Emit emit) {
  const torch::Tensor boxes = ssd_decode_boxes(anchors, encodings.reshape({-1, 4})).contiguous();
  const torch::Tensor scores = torch::sigmoid(logits.reshape({-1, 3}).select(1, 1).to(torch::kFloat)).contiguous();
  if (boxes.size(0) != scores.size(0)) {
    throw std::runtime_error("SSD output: " + std::to_string(scores.size(0)) + " scores for " + std::to_string(boxes.size(0)) + " anchors");
  }
  for (const int64_t i :
       ssd_nms(boxes.data_ptr<float>(), scores.data_ptr<float>(), boxes.size(0), max_results, kSsdIouThreshold, min_score)) {
    emit(boxes.data_ptr<float>() + i * 4, scores.data_ptr<float>()[i]);
  }
}

}  // namespace

std::vector<FaceBox> ssd_postprocess(const torch::Tensor& anchors, const torch::Tensor& encodings, const torch::Tensor& logits,
                                     int height, int width, float min_score, int max_results) {
  std::vector<FaceBox> out;
  ssd_kept(anchors, encodings, logits, min_score, max_results,
           [&](const float* box, float score) { out.push_back(ssd_box_to_pixels(box, score, height, width)); });
  return out;
}

std::vector<FaceBox> ssd_postprocess_fit(const torch::Tensor& anchors, const torch::Tensor& encodings, const torch::Tensor& logits,
                                         double scale_y, double scale_x, int height, int width, float min_score,
                                         int max_results) {
  std::vector<FaceBox> out;
  ssd_kept(anchors, encodings, logits, min_score, max_results, [&](const float* box, float score) {
    const double top = std::clamp(box[0] / scale_y, 0.0, static_cast<double>(height));
    const double left = std::clamp(box[1] / scale_x, 0.0, static_cast<double>(width));
    const double bottom = std::clamp(box[2] / scale_y, top, static_cast<double>(height));
    const double right = std::clamp(box[3] / scale_x, left, static_cast<double>(width));
    out.push_back({static_cast<float>(left), static_cast<float>(top), static_cast<float>(right - left),
                   static_cast<float>(bottom - top), score});
  });
  return out;
}

void load_ssd_mobilenet_tfjs(SsdMobilenetV1Impl& net, const TfjsWeights& weights) {
  // The manifest also carries constants of the exported TF graph (preprocessing scalars, slice bounds,
  // box counts) that the network does not use: the int32 ones are skipped by the loader, the float
  // scalars are named here.
  std::set<std::string> ignore;
  for (const auto& t : weights.tensors) {
    if (t.name.rfind("Preprocessor/", 0) == 0 || t.name.rfind("Postprocessor/", 0) == 0) ignore.insert(t.name);
  }
  load_tfjs_parameters(net, weights, "", /*keep_layout=*/{"Output.extra_dim"}, ignore);
}

}  // namespace agegender
