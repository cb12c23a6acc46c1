#include "model/tiny_face_detector.hpp"

#include <algorithm>
#include <cmath>

#include "agegender/tfjs_weights.hpp"
#include "model/tfjs_torch.hpp"

namespace agegender {

namespace {
torch::Tensor leaky(const torch::Tensor& x) { return torch::leaky_relu(x, 0.1); }
double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }
}  // namespace

TinyFaceDetectorImpl::TinyFaceDetectorImpl() {
  conv0 = register_module("conv0", TfConv(3, 16, 3, 1, TfPadding::Valid));
  const int64_t channels[6] = {16, 32, 64, 128, 256, 512};
  for (int i = 1; i <= 5; ++i) {
    convs.push_back(register_module("conv" + std::to_string(i), TfSeparableConv(channels[i - 1], channels[i], 1, TfPadding::One)));
  }
  conv8 = register_module("conv8", TfConv(512, kTinyAnchors * 5, 1, 1, TfPadding::Valid));
}

torch::Tensor TinyFaceDetectorImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = leaky(conv0->forward(x));
  for (size_t i = 0; i < convs.size(); ++i) {
    out = tf_max_pool_same(out, 2, 2);
    out = leaky(convs[i]->forward(out));
  }
  out = tf_max_pool_same(out, 2, 1);
  return conv8->forward(out);
}

FaceApiInput tiny_input(int size) {
  FaceApiInput in;
  in.size = size;
  in.centered = false;
  in.mean[0] = 117.001f, in.mean[1] = 114.697f, in.mean[2] = 97.404f;
  in.divisor = 255.0f;
  return in;
}

std::vector<TinyBox> tiny_decode(const float* grid_hwc, int grid, int input_size, int height, int width, float min_score) {
  const double scale = static_cast<double>(input_size) / std::max(height, width);
  const double reshaped_w = std::floor(width * scale + 0.5), reshaped_h = std::floor(height * scale + 0.5);
  const double fx = input_size / reshaped_w, fy = input_size / reshaped_h;
  std::vector<TinyBox> out;
  for (int row = 0; row < grid; ++row) {
    for (int col = 0; col < grid; ++col) {
      for (int a = 0; a < kTinyAnchors; ++a) {
        const float* v = grid_hwc + (static_cast<size_t>(row) * grid + col) * kTinyAnchors * 5 + a * 5;
        const double score = sigmoid(v[4]);
        if (!(score > min_score)) continue;
        const double cx = (col + sigmoid(v[0])) / grid * fx, cy = (row + sigmoid(v[1])) / grid * fy;
        const double w = std::exp(v[2]) * kTinyAnchorSizes[a][0] / grid * fx;
        const double h = std::exp(v[3]) * kTinyAnchorSizes[a][1] / grid * fy;
        out.push_back({cx - w / 2, cy - h / 2, w, h, static_cast<float>(score)});
      }
    }
  }
  return out;
}

std::vector<size_t> tiny_nms(const std::vector<TinyBox>& boxes, float iou_threshold, int input_size) {
  // Ascending by score, stable; the best is taken from the back, so among equal scores the later wins.
  std::vector<size_t> order(boxes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return boxes[a].score < boxes[b].score; });
  auto iou = [&](const TinyBox& a, const TinyBox& b) {
    const double s = input_size;
    const double ax0 = a.x * s, ay0 = a.y * s, ax1 = ax0 + a.w * s, ay1 = ay0 + a.h * s;
    const double bx0 = b.x * s, by0 = b.y * s, bx1 = bx0 + b.w * s, by1 = by0 + b.h * s;
    const double iw = std::max(0.0, std::min(ax1, bx1) - std::max(ax0, bx0));
    const double ih = std::max(0.0, std::min(ay1, by1) - std::max(ay0, by0));
    const double inter = iw * ih;
    return inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter);
  };
  std::vector<size_t> picked;
  while (!order.empty()) {
    const size_t best = order.back();
    order.pop_back();
    picked.push_back(best);
    std::vector<size_t> rest;
    for (const size_t i : order) {
      if (iou(boxes[best], boxes[i]) <= iou_threshold) rest.push_back(i);
    }
    order.swap(rest);
  }
  return picked;
}

std::vector<FaceBox> tiny_postprocess(const torch::Tensor& raw, int input_size, int height, int width, float min_score,
                                      int max_results) {
  const int grid = static_cast<int>(raw.size(2));
  const torch::Tensor hwc = raw[0].permute({1, 2, 0}).to(torch::kCPU, torch::kFloat).contiguous();
  const std::vector<TinyBox> boxes = tiny_decode(hwc.data_ptr<float>(), grid, input_size, height, width, min_score);
  std::vector<FaceBox> out;
  for (const size_t i : tiny_nms(boxes, kTinyIouThreshold, input_size)) {
    if (static_cast<int>(out.size()) >= max_results) break;
    const TinyBox& b = boxes[i];
    out.push_back({static_cast<float>(b.x * width), static_cast<float>(b.y * height), static_cast<float>(b.w * width),
                   static_cast<float>(b.h * height), b.score});
  }
  return out;
}

void load_tiny_face_detector_tfjs(TinyFaceDetectorImpl& net, const TfjsWeights& weights) { load_tfjs_parameters(net, weights); }

}  // namespace agegender
