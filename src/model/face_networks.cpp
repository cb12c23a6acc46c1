#include "agegender/face_networks.hpp"

#include <array>
#include <filesystem>

#include "agegender/error.hpp"
#include "agegender/tfjs_weights.hpp"
#include "model/device.hpp"
#include "model/face_landmarks.hpp"
#include "model/ssd_mobilenet.hpp"
#include "model/tiny_face_detector.hpp"

namespace agegender {
namespace fs = std::filesystem;

namespace {

TfjsWeights read_face_model(const std::string& models_dir, const std::string& model) {
  const fs::path manifest = fs::path(models_dir) / (model + "-weights_manifest.json");
  if (!fs::is_regular_file(manifest)) {
    throw UsageError("face models not found: " + manifest.string() + " is missing (fetch them with scripts/fetch_face_models.sh " +
                     models_dir + ", or pass --models DIR)");
  }
  return read_tfjs_weights(manifest.string());
}

void check_image(const RgbView& image, const char* what) {
  if (!image.pixels || image.height <= 0 || image.width <= 0) {
    throw UsageError(std::string(what) + ": empty image (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
  }
}

// These nets are depthwise and 1x1 convolutions, which oneDNN runs faster on channels-last (NHWC) maps
// (measured here, one thread: tiny 416 ~2x, SSD ~1.5x, landmarks ~1.3x); same values.
void to_channels_last(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

// face-api's preprocessing of one image into a [1, 3, S, S] channels-last tensor on `device`.
torch::Tensor preprocess(const RgbView& image, const FaceApiInput& in, const torch::Device& device) {
  torch::Tensor x = torch::empty({1, 3, in.size, in.size}, torch::kFloat);
  face_api_preprocess(image.pixels, image.height, image.width, in, x.data_ptr<float>());
  return x.to(device).contiguous(torch::MemoryFormat::ChannelsLast);
}

}  // namespace

struct FaceDetectorNet::Impl {
  Kind kind;
  FaceDetectorOptions options;
  torch::Device device{torch::kCPU};
  SsdMobilenetV1 ssd{nullptr};
  TinyFaceDetector tiny{nullptr};
  torch::Tensor anchors;  // SSD, on the CPU
  // SSD with fit_side: the anchors (pixels) of the last input size. One entry, not one per size: a folder
  // of photos has as many sizes as photos, and the anchors are cheap to lay out again.
  std::array<int64_t, 2> fit_size{0, 0};
  torch::Tensor fit_anchors;

  std::vector<FaceBox> detect_fit(const RgbView& image);
};

std::vector<FaceBox> FaceDetectorNet::Impl::detect_fit(const RgbView& image) {
  // The long side to fit_side; the canvas rounded up to a multiple of 32 (both networks' stride) with
  // face-api's zero padding bottom/right.
  const double scale = static_cast<double>(options.fit_side) / std::max(image.height, image.width);
  const int fit_h = std::max(1, static_cast<int>(std::lround(image.height * scale)));
  const int fit_w = std::max(1, static_cast<int>(std::lround(image.width * scale)));
  const int out_h = (fit_h + 31) / 32 * 32, out_w = (fit_w + 31) / 32 * 32;
  const double scale_y = static_cast<double>(fit_h) / image.height, scale_x = static_cast<double>(fit_w) / image.width;
  torch::Tensor x = torch::empty({1, 3, out_h, out_w}, torch::kFloat);
  face_api_preprocess_fit(image.pixels, image.height, image.width, fit_h, fit_w, out_h, out_w,
                          kind == Kind::Ssd ? ssd_input() : tiny_input(options.fit_side), x.data_ptr<float>());
  x = x.to(device).contiguous(torch::MemoryFormat::ChannelsLast);
  if (kind == Kind::Tiny) {
    return tiny_postprocess_fit(tiny->forward(x), scale_y, scale_x, options.min_score, options.max_results);
  }
  const SsdRawOutput raw = ssd->forward(x);
  if (fit_size != std::array<int64_t, 2>{out_h, out_w}) {
    fit_anchors = ssd_anchors_for(anchors, raw.maps, out_h, out_w);
    fit_size = {out_h, out_w};
  }
  return ssd_postprocess_fit(fit_anchors, raw.box_encodings[0].to(torch::kCPU), raw.class_logits[0].to(torch::kCPU), scale_y, scale_x,
                             image.height, image.width, options.min_score, options.max_results);
}

FaceDetectorNet::FaceDetectorNet(Kind kind, const std::string& models_dir, const FaceDetectorOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (!(options.min_score > 0 && options.min_score < 1)) {
    throw UsageError("face detector min score " + std::to_string(options.min_score) + ": expected a value in (0, 1)");
  }
  if (options.max_results < 1) throw UsageError("face detector max results " + std::to_string(options.max_results) + ": expected >= 1");
  if (!valid_fit_side(options.fit_side)) {
    throw UsageError("face detector input side " + std::to_string(options.fit_side) +
                     ": expected 0 (face-api's square input) or a multiple of 32 (128..4096)");
  }
  if (kind == Kind::Tiny && (options.input_size < 32 || options.input_size % 32 != 0 || options.input_size > 4096)) {
    throw UsageError("tiny face detector input size " + std::to_string(options.input_size) + ": expected a multiple of 32 (32..4096)");
  }
  impl_->kind = kind;
  impl_->options = options;
  impl_->device = pick_device(options.device, "face detector device");
  if (kind == Kind::Ssd) {
    impl_->ssd = SsdMobilenetV1();
    load_ssd_mobilenet_tfjs(*impl_->ssd, read_face_model(models_dir, "ssd_mobilenetv1_model"));
    impl_->anchors = impl_->ssd->anchors().clone();
    impl_->ssd->to(impl_->device);
    to_channels_last(*impl_->ssd);
    impl_->ssd->eval();
  } else {
    impl_->tiny = TinyFaceDetector();
    load_tiny_face_detector_tfjs(*impl_->tiny, read_face_model(models_dir, "tiny_face_detector_model"));
    impl_->tiny->to(impl_->device);
    to_channels_last(*impl_->tiny);
    impl_->tiny->eval();
  }
}

FaceDetectorNet::~FaceDetectorNet() = default;

FaceDetectorNet::Kind FaceDetectorNet::kind() const { return impl_->kind; }
const FaceDetectorOptions& FaceDetectorNet::options() const { return impl_->options; }

std::vector<FaceBox> FaceDetectorNet::detect(const RgbView& image) {
  check_image(image, "face detector");
  torch::NoGradGuard no_grad;
  const FaceDetectorOptions& o = impl_->options;
  if (o.fit_side > 0) return impl_->detect_fit(image);
  if (impl_->kind == Kind::Ssd) {
    const SsdRawOutput raw = impl_->ssd->forward(preprocess(image, ssd_input(), impl_->device));
    return ssd_postprocess(impl_->anchors, raw.box_encodings[0].to(torch::kCPU), raw.class_logits[0].to(torch::kCPU),
                           image.height, image.width, o.min_score, o.max_results);
  }
  const torch::Tensor raw = impl_->tiny->forward(preprocess(image, tiny_input(o.input_size), impl_->device));
  return tiny_postprocess(raw, o.input_size, image.height, image.width, o.min_score, o.max_results);
}

struct LandmarkNet::Impl {
  FaceLandmarkNet net{nullptr};
  torch::Device device{torch::kCPU};
};

LandmarkNet::LandmarkNet(bool tiny, const std::string& models_dir, const std::string& device) : impl_(std::make_unique<Impl>()) {
  impl_->device = pick_device(device, "landmark net device");
  impl_->net = FaceLandmarkNet(tiny);
  load_face_landmarks_tfjs(*impl_->net, read_face_model(models_dir, tiny ? "face_landmark_68_tiny_model" : "face_landmark_68_model"));
  impl_->net->to(impl_->device);
  to_channels_last(*impl_->net);
  impl_->net->eval();
}

LandmarkNet::~LandmarkNet() = default;

bool LandmarkNet::tiny() const { return impl_->net->tiny(); }

std::vector<FacePoint> LandmarkNet::landmarks(const RgbView& face_crop) { return landmarks(std::vector<RgbView>{face_crop}).front(); }

std::vector<std::vector<FacePoint>> LandmarkNet::landmarks(const std::vector<RgbView>& face_crops) {
  if (face_crops.empty()) return {};
  const FaceApiInput in = landmark_input();
  const int64_t plane = 3 * static_cast<int64_t>(in.size) * in.size;
  torch::Tensor x = torch::empty({static_cast<int64_t>(face_crops.size()), 3, in.size, in.size}, torch::kFloat);
  for (size_t i = 0; i < face_crops.size(); ++i) {
    check_image(face_crops[i], "landmarks");
    face_api_preprocess(face_crops[i].pixels, face_crops[i].height, face_crops[i].width, in, x.data_ptr<float>() + i * plane);
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor raw =
      impl_->net->forward(x.to(impl_->device).contiguous(torch::MemoryFormat::ChannelsLast)).to(torch::kCPU).contiguous();
  std::vector<std::vector<FacePoint>> out;
  for (size_t i = 0; i < face_crops.size(); ++i) {
    out.push_back(landmarks_to_pixels(raw.data_ptr<float>() + i * 136, face_crops[i].height, face_crops[i].width));
  }
  return out;
}

}  // namespace agegender
