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

namespace {

// The grid's boxes scoring > min_score, in (row, col, anchor) order, with each cell cell_y x cell_x output
// units (anchor sizes are in cells).
std::vector<TinyBox> decode_grid(const float* grid_hwc, int64_t rows, int64_t cols, double cell_y, double cell_x,
                                 float min_score) {
  std::vector<TinyBox> out;
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t col = 0; col < cols; ++col) {
      for (int a = 0; a < kTinyAnchors; ++a) {
        const float* v = grid_hwc + (static_cast<size_t>(row) * cols + col) * kTinyAnchors * 5 + a * 5;
        const double score = sigmoid(v[4]);
        if (!(score > min_score)) continue;
        const double cx = (col + sigmoid(v[0])) * cell_x, cy = (row + sigmoid(v[1])) * cell_y;
        const double w = std::exp(v[2]) * kTinyAnchorSizes[a][0] * cell_x, h = std::exp(v[3]) * kTinyAnchorSizes[a][1] * cell_y;
        out.push_back({cx - w / 2, cy - h / 2, w, h, static_cast<float>(score)});
      }
    }
  }
  return out;
}

}  // namespace

std::vector<TinyBox> tiny_decode(const float* grid_hwc, int grid, int input_size, int height, int width, float min_score) {
  // Units of the image's width/height: the padded square is input/reshaped times the image.
  const double scale = static_cast<double>(input_size) / std::max(height, width);
  const double reshaped_w = std::floor(width * scale + 0.5), reshaped_h = std::floor(height * scale + 0.5);
  const double fx = input_size / reshaped_w, fy = input_size / reshaped_h;
  return decode_grid(grid_hwc, grid, grid, fy / grid, fx / grid, min_score);
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

std::vector<FaceBox> tiny_postprocess_fit(const torch::Tensor& raw, double scale_y, double scale_x, float min_score,
                                          int max_results) {
  constexpr double kCell = 32;  // input pixels per grid cell
  const torch::Tensor hwc = raw[0].permute({1, 2, 0}).to(torch::kCPU, torch::kFloat).contiguous();
  const std::vector<TinyBox> boxes =  // image pixels
      decode_grid(hwc.data_ptr<float>(), raw.size(2), raw.size(3), kCell / scale_y, kCell / scale_x, min_score);
  std::vector<FaceBox> out;
  for (const size_t i : tiny_nms(boxes, kTinyIouThreshold, 1)) {
    if (static_cast<int>(out.size()) >= max_results) break;
    const TinyBox& b = boxes[i];  // not clipped, as face-api leaves Tiny's boxes
    out.push_back({static_cast<float>(b.x), static_cast<float>(b.y), static_cast<float>(b.w), static_cast<float>(b.h), b.score});
  }
  return out;
}

void load_tiny_face_detector_tfjs(TinyFaceDetectorImpl& net, const TfjsWeights& weights) { load_tfjs_parameters(net, weights); }

}  // namespace agegender
