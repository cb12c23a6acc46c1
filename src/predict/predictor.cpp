#include "agegender/predictor.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>
#include <thread>

#include "agegender/allocator.hpp"
#include "agegender/atomic_file.hpp"
#include "agegender/error.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/threads.hpp"
#include "predict/annotate.hpp"
#include "predict/demographics.hpp"
#include "predict/face_detector.hpp"
#include "predict/inputs.hpp"
#include "predict/result_writer.hpp"
#include "train/checkpoint.hpp"
#include "train/device.hpp"

namespace agegender {
namespace fs = std::filesystem;

namespace {

// One face ready for the model: its box and its size x size RGB pixels.
struct FaceCrop {
  cv::Rect box;
  std::vector<uint8_t> rgb;
};

// One decoded image or video frame and the faces found in it.
struct Item {
  const PredictInput* input = nullptr;
  long frame = -1;
  cv::Mat image;  // kept only when annotating
  std::vector<FaceCrop> faces;
  std::string error;
};

class Predictor {
 public:
  Predictor(const PredictOptions& o, LoadedModel& m) : o_(o), m_(m), demo_(m.binning.class_names(), o.summary_window) {}
  PredictReport run();

 private:
  void prepare_item(Item& item, const std::string& bytes, const FaceDetector& det) const;
  void crop_faces(Item& item, const cv::Mat& bgr, const FaceDetector& det) const;
  void infer_and_write(std::vector<Item>& items);
  void run_stills(const std::vector<const PredictInput*>& stills);
  void run_video(const PredictInput& in);
  void annotate_still(const Item& item, const std::vector<PredictionRow>& rows) const;

  const PredictOptions& o_;
  LoadedModel& m_;
  int threads_ = 1;
  DetectMode mode_ = DetectMode::Auto;
  std::unique_ptr<ResultWriter> writer_;
  std::vector<std::unique_ptr<FaceDetector>> detectors_;  // one per worker: cascades are not thread-safe
  std::unique_ptr<cv::VideoWriter> video_out_;
  Demographics demo_;
  PredictReport report_;
  std::string annotate_root_;
};

std::string read_bytes(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open file";
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Predictor::crop_faces(Item& item, const cv::Mat& bgr, const FaceDetector& det) const {
  const int size = m_.spec.input_size;
  for (const cv::Rect& box : det.detect(bgr)) {
    FaceCrop f{box, std::vector<uint8_t>(static_cast<size_t>(size) * size * 3)};
    bgr_to_rgb_square(crop_face(bgr, box), size, f.rgb.data());
    item.faces.push_back(std::move(f));
  }
  if (item.faces.empty()) item.error = "no face found";
  if (!o_.annotate.empty()) item.image = bgr;
}

void Predictor::prepare_item(Item& item, const std::string& bytes, const FaceDetector& det) const {
  cv::Mat bgr;
  if (!decode_bgr(bytes, &bgr, &item.error)) return;
  crop_faces(item, bgr, det);
}

// Runs the model over every face of `items` in batches, then writes their rows in order.
void Predictor::infer_and_write(std::vector<Item>& items) {
  std::vector<const FaceCrop*> faces;
  for (const auto& it : items) {
    for (const auto& f : it.faces) faces.push_back(&f);
  }
  const int64_t size = m_.spec.input_size, channels = m_.spec.in_channels;
  const torch::Device device = m_.model->parameters().front().device();
  const auto mean = torch::tensor(m_.norm.mean).view({1, channels, 1, 1}).to(device);
  const auto stdv = torch::tensor(m_.norm.std).view({1, channels, 1, 1}).to(device);
  std::vector<float> age_probs, female_probs;
  torch::NoGradGuard no_grad;
  for (size_t start = 0; start < faces.size(); start += static_cast<size_t>(o_.batch)) {
    const int64_t n = static_cast<int64_t>(std::min(faces.size() - start, static_cast<size_t>(o_.batch)));
    auto batch = torch::empty({n, size, size, 3}, torch::kUInt8);
    for (int64_t i = 0; i < n; ++i) std::memcpy(batch[i].data_ptr(), faces[start + i]->rgb.data(), faces[start + i]->rgb.size());
    auto x = batch.to(device).permute({0, 3, 1, 2}).to(torch::kFloat);
    if (channels == 1) x = rgb_to_gray(x).round();  // rounded like the uint8 training cache
    x = (x.div(255.0) - mean) / stdv;
    const ModelOutput out = m_.model->forward(x);
    if (out.age_logits.defined()) {
      const auto p = torch::softmax(out.age_logits, 1).to(torch::kCPU).contiguous();
      age_probs.insert(age_probs.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    }
    if (out.gender_logits.defined()) {
      const auto p = torch::softmax(out.gender_logits, 1).select(1, 1).to(torch::kCPU).contiguous();
      female_probs.insert(female_probs.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    }
  }
  const auto names = m_.binning.class_names();
  const size_t k = names.size();
  size_t next = 0;
  for (auto& it : items) {
    std::vector<PredictionRow> rows;
    const std::string file = it.input->path;
    if (it.faces.empty()) {
      rows.push_back({file, it.frame, 0, 0, 0, 0, 0, "", 0, 0, "", 0, it.error});
      ++report_.errors;
    }
    for (size_t f = 0; f < it.faces.size(); ++f, ++next) {
      PredictionRow r{file, it.frame, static_cast<int>(f), it.faces[f].box.x, it.faces[f].box.y, it.faces[f].box.width,
                      it.faces[f].box.height, "", 0, 0, "", 0, ""};
      if (!age_probs.empty()) {
        const float* p = &age_probs[next * k];
        const size_t best = static_cast<size_t>(std::max_element(p, p + k) - p);
        r.age_group = names[best];
        r.age_prob = p[best];
        for (size_t c = 0; c < k; ++c) r.age += p[c] * m_.class_mean_age[c];
      }
      if (!female_probs.empty()) {
        const float pf = female_probs[next];
        r.gender = pf >= 0.5f ? "female" : "male";
        r.gender_prob = pf >= 0.5f ? pf : 1.0f - pf;
      }
      demo_.add(r.age_group, r.gender, it.frame);
      ++report_.faces;
      rows.push_back(std::move(r));
    }
    for (const auto& r : rows) writer_->write(r);
    if (!o_.annotate.empty() && !it.image.empty()) {
      if (it.input->video) {
        draw_predictions(it.image, rows);
        if (video_out_) video_out_->write(it.image);
      } else {
        annotate_still(it, rows);
      }
    }
  }
  writer_->flush();  // every finished row is on disk before the next chunk starts
}

void Predictor::annotate_still(const Item& item, const std::vector<PredictionRow>& rows) const {
  cv::Mat img = item.image.clone();
  draw_predictions(img, rows);
  fs::path dst = fs::path(annotate_root_) / item.input->relative;
  if (!is_image_path(dst.string())) dst += ".jpg";
  fs::create_directories(dst.parent_path());
  if (!cv::imwrite(dst.string(), img)) spdlog::warn("cannot write annotated image {}", dst.string());
}

void Predictor::run_stills(const std::vector<const PredictInput*>& stills) {
  const size_t chunk = static_cast<size_t>(std::max(o_.batch, 32)) * 2;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t start = 0; start < stills.size(); start += chunk) {
    std::vector<Item> items(std::min(chunk, stills.size() - start));
    std::atomic<size_t> next{0};
    auto worker = [&](int w) {
      for (size_t i; (i = next.fetch_add(1)) < items.size();) {
        items[i].input = stills[start + i];
        const std::string bytes = read_bytes(items[i].input->path, &items[i].error);
        if (items[i].error.empty()) prepare_item(items[i], bytes, *detectors_[static_cast<size_t>(w)]);
      }
    };
    std::vector<std::thread> pool;
    for (int w = 0; w < threads_; ++w) pool.emplace_back(worker, w);
    for (auto& t : pool) t.join();
    for (const auto& it : items) report_.read_ok += it.error.empty() || it.error == "no face found";
    infer_and_write(items);
    const size_t done = start + items.size();
    if (!o_.quiet) {
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      spdlog::info("Predict: [{}/{}]  {:.1f} img/s", done, stills.size(), done / std::max(el, 1e-9));
    }
  }
}

void Predictor::run_video(const PredictInput& in) {
  // FFmpeg first: the GStreamer backend prints assertion noise for files it cannot open.
  cv::VideoCapture cap(in.path, cv::CAP_FFMPEG);
  if (!cap.isOpened()) cap.open(in.path, cv::CAP_ANY);
  if (!cap.isOpened()) {
    writer_->write({in.path, -1, 0, 0, 0, 0, 0, "", 0, 0, "", 0, "cannot open video"});
    writer_->flush();
    ++report_.errors;
    return;
  }
  if (!o_.annotate.empty()) {
    const double fps = cap.get(cv::CAP_PROP_FPS) > 0 ? cap.get(cv::CAP_PROP_FPS) / o_.every : 10.0;
    const cv::Size frame_size(static_cast<int>(cap.get(cv::CAP_PROP_FRAME_WIDTH)), static_cast<int>(cap.get(cv::CAP_PROP_FRAME_HEIGHT)));
    const std::string ext = fs::path(o_.annotate).extension().string();
    const int fourcc = ext == ".avi" ? cv::VideoWriter::fourcc('M', 'J', 'P', 'G') : cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    video_out_ = std::make_unique<cv::VideoWriter>(o_.annotate, fourcc, fps, frame_size);
    if (!video_out_->isOpened()) throw RuntimeError("--annotate " + o_.annotate + ": cannot create the annotated video");
  }
  const FaceDetector& det = *detectors_.back();  // the video path runs on this thread only
  constexpr size_t kFramesPerChunk = 16;
  std::vector<Item> items;
  cv::Mat frame;
  for (long index = 0; cap.read(frame); ++index) {
    if (index % o_.every != 0) continue;
    Item item;
    item.input = &in;
    item.frame = index;
    crop_faces(item, frame, det);
    if (!o_.annotate.empty()) item.image = frame.clone();
    ++report_.read_ok;
    ++report_.inputs;  // frames count as inputs for images/s
    items.push_back(std::move(item));
    if (items.size() == kFramesPerChunk) {
      infer_and_write(items);
      items.clear();
    }
  }
  if (!items.empty()) infer_and_write(items);
  if (video_out_) video_out_->release();
}

PredictReport Predictor::run() {
  threads_ = resolve_threads(o_.threads);
  mode_ = parse_detect_mode(o_.detect);
  if (o_.batch < 1) throw UsageError("--batch must be >= 1");
  if (o_.every < 1) throw UsageError("--every must be >= 1");
  const std::vector<PredictInput> inputs = list_predict_inputs(o_.input);
  std::vector<const PredictInput*> stills, videos;
  for (const auto& in : inputs) (in.video ? videos : stills).push_back(&in);
  if (!o_.annotate.empty() && !videos.empty() && (videos.size() > 1 || !stills.empty())) {
    throw UsageError("--annotate FILE works for one video input; annotate folders of images into a directory");
  }
  for (int w = 0; w < threads_; ++w) detectors_.push_back(std::make_unique<FaceDetector>(mode_, o_.cascade, false));
  if (!videos.empty()) detectors_.push_back(std::make_unique<FaceDetector>(mode_, o_.cascade, /*scenes_only=*/true));
  if (!o_.annotate.empty() && videos.empty()) {
    annotate_root_ = o_.annotate;
    fs::create_directories(annotate_root_);
  }
  writer_ = std::make_unique<ResultWriter>(o_.out, o_.format);
  const auto t0 = std::chrono::steady_clock::now();
  report_.inputs = stills.size();
  run_stills(stills);
  for (const auto* v : videos) run_video(*v);
  report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report_.summary = demo_.to_json();
  report_.summary_table = demo_.table();
  if (o_.summary) {
    std::string path = o_.summary_json;
    if (path.empty() && !o_.out.empty() && o_.out != "-") path = o_.out + ".summary.json";
    if (!path.empty()) write_file_atomic(path, report_.summary.dump(2) + "\n");
  }
  if (report_.read_ok == 0) {
    throw RuntimeError("no input could be read (" + std::to_string(report_.inputs) + " tried; see the error column)");
  }
  return report_;
}

}  // namespace

PredictReport run_predict(const PredictOptions& o) {
  tune_allocator();
  torch::set_num_threads(resolve_threads(o.threads));
  const torch::Device device = pick_device(o.device, "--device");
  LoadedModel model = load_trained_model(o.model);
  model.model->to(device);
  return Predictor(o, model).run();
}

}  // namespace agegender
