#include "agegender/predictor.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "agegender/allocator.hpp"
#include "agegender/atomic_file.hpp"
#include "agegender/error.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/preprocess.hpp"
#include "agegender/threads.hpp"
#include "predict/annotate.hpp"
#include "predict/demographics.hpp"
#include "predict/result_writer.hpp"
#include "vision/face_detector.hpp"
#include "vision/face_pipeline.hpp"
#include "predict/face_engine.hpp"

namespace agegender {
namespace fs = std::filesystem;

namespace {

// Faces become model input pixels on the pipeline's workers (the preprocessing contract, exactly as
// training saw its prepared images); the model runs per chunk, rows are written in input order.
class Predictor : public FaceConsumer {
 public:
  Predictor(const PredictOptions& o, FaceEngine& engine) : o_(o), engine_(engine), demo_(engine.class_names(), o.summary_window) {
    if (!o.annotate.empty()) annotate_root_ = o.annotate;
  }

  void begin() override {
    writer_ = std::make_unique<ResultWriter>(o_.out, o_.format, o_.landmarks);
    if (annotate_folder_) fs::create_directories(annotate_root_);
  }

  bool annotate_folder_ = false;  // annotated images go into a folder (no video among the inputs)

  void prepare_face(const FoundFace& found, PipelineFace& face) const override {
    const ModelInput& in = engine_.input();
    std::vector<uint8_t> source(static_cast<size_t>(in.source_size) * in.source_size * 3);
    center_square_rgb(found.crop, in.source_size, source.data());
    face.data.resize(static_cast<size_t>(in.channels) * in.size * in.size);
    source_to_model(source.data(), in, face.data.data());
  }

  void consume(std::vector<PipelineItem>& items) override;

  void begin_video(const PredictInput&, cv::VideoCapture& cap) override {
    if (o_.annotate.empty()) return;
    const double fps = cap.get(cv::CAP_PROP_FPS) > 0 ? cap.get(cv::CAP_PROP_FPS) / o_.every : 10.0;
    const cv::Size frame_size(static_cast<int>(cap.get(cv::CAP_PROP_FRAME_WIDTH)), static_cast<int>(cap.get(cv::CAP_PROP_FRAME_HEIGHT)));
    const std::string ext = fs::path(o_.annotate).extension().string();
    const int fourcc = ext == ".avi" ? cv::VideoWriter::fourcc('M', 'J', 'P', 'G') : cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    video_out_ = std::make_unique<cv::VideoWriter>(o_.annotate, fourcc, fps, frame_size);
    if (!video_out_->isOpened()) throw RuntimeError("--annotate " + o_.annotate + ": cannot create the annotated video");
  }

  void end_video() override {
    if (video_out_) video_out_->release();
  }

  PredictReport finish(const PipelineReport& p);

 private:
  void annotate_still(const PipelineItem& item, const std::vector<PredictionRow>& rows) const;

  const PredictOptions& o_;
  FaceEngine& engine_;
  std::unique_ptr<ResultWriter> writer_;
  std::unique_ptr<cv::VideoWriter> video_out_;
  Demographics demo_;
  PredictReport report_;
  std::string annotate_root_;
};

// Runs the model over every face of `items` in batches, then writes their rows in order.
void Predictor::consume(std::vector<PipelineItem>& items) {
  std::vector<const PipelineFace*> faces;
  for (const auto& it : items) {
    for (const auto& f : it.faces) faces.push_back(&f);
  }
  const ModelInput& in = engine_.input();
  const size_t face_floats = static_cast<size_t>(in.channels) * in.size * in.size;
  EngineOutput probs;
  std::vector<float> x;
  for (size_t start = 0; start < faces.size(); start += static_cast<size_t>(o_.batch)) {
    const size_t n = std::min(faces.size() - start, static_cast<size_t>(o_.batch));
    x.resize(n * face_floats);
    for (size_t i = 0; i < n; ++i) normalize_pixels(faces[start + i]->data.data(), in, x.data() + i * face_floats);
    // Age groups (a year head's summed over each group's years), expected age, P(female); --tta averages flips.
    engine_.run(x.data(), static_cast<int64_t>(n), o_.tta, probs);
  }
  const std::vector<float>& age_probs = probs.age_probs;
  const std::vector<float>& ages = probs.ages;
  const std::vector<float>& female_probs = probs.female_probs;
  const auto& names = engine_.class_names();
  const size_t k = names.size();
  size_t next = 0;
  for (auto& it : items) {
    std::vector<PredictionRow> rows;
    const std::string file = it.input->path;
    if (it.faces.empty()) {
      PredictionRow r;
      r.file = file, r.frame = it.frame, r.error = it.error;
      rows.push_back(std::move(r));
      ++report_.errors;
    }
    for (size_t f = 0; f < it.faces.size(); ++f, ++next) {
      const PipelineFace& face = it.faces[f];
      PredictionRow r;
      r.file = file, r.frame = it.frame, r.face = static_cast<int>(f);
      r.x = face.box.x, r.y = face.box.y, r.w = face.box.width, r.h = face.box.height;
      r.marks = face.marks();
      if (!age_probs.empty()) {
        const float* p = &age_probs[next * k];
        const size_t best = static_cast<size_t>(std::max_element(p, p + k) - p);
        r.age_group = names[best];
        r.age_prob = p[best];
        r.age = ages[next];
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

void Predictor::annotate_still(const PipelineItem& item, const std::vector<PredictionRow>& rows) const {
  cv::Mat img = item.image.clone();
  draw_predictions(img, rows);
  const fs::path dst = annotated_path(annotate_root_, *item.input);
  std::error_code ec;
  fs::create_directories(dst.parent_path(), ec);
  bool ok = false;
  try {
    ok = !ec && cv::imwrite(dst.string(), img);
  } catch (const cv::Exception&) {  // reported below like any other failed write
  }
  if (!ok) spdlog::warn("cannot write annotated image {}", dst.string());
}

PredictReport Predictor::finish(const PipelineReport& p) {
  report_.inputs = p.inputs;
  report_.read_ok = p.read_ok;
  report_.seconds = p.seconds;
  report_.summary = demo_.to_json();
  report_.summary_table = demo_.table();
  if (o_.summary) {
    std::string path = o_.summary_json;
    if (path.empty() && !o_.out.empty() && o_.out != "-") path = o_.out + ".summary.json";
    if (!path.empty()) write_file_atomic(path, report_.summary.dump(2) + "\n");
  }
  throw_if_nothing_read(p);
  return report_;
}

}  // namespace

PredictReport run_predict(const PredictOptions& o) {
  // Every usage check before the model loads or anything is written.
  const int threads = resolve_threads(o.threads, "--threads");
  check_max_pixels(o.max_pixels);
  if (o.batch < 1) throw UsageError("--batch must be >= 1");
  if (o.every < 1) throw UsageError("--every must be >= 1");
  const std::vector<PredictInput> inputs = list_predict_inputs(o.input);
  check_annotate_target(o.annotate, o.input, inputs);
  tune_allocator();
  cap_kernel_cache();  // long videos: batches of every size would fill oneDNN's per-shape cache
  std::unique_ptr<FaceEngine> engine;
  if (o.engine == "torch") {
    engine = make_torch_engine(o.model, o.device, threads);
  } else if (o.engine == "opencv") {
    if (o.device == "cuda") throw UsageError("--engine opencv runs on the CPU only (got --device cuda)");
    engine = make_opencv_engine(o.model, threads);
  } else {
    throw UsageError("--engine '" + o.engine + "' is not known (expected torch or opencv)");
  }
  Predictor predictor(o, *engine);
  FacePipelineOptions po;
  po.inputs = &inputs;
  po.detector = detector_options(o);
  po.every = o.every;
  po.threads = threads;
  po.max_pixels = o.max_pixels;
  po.keep_images = !o.annotate.empty();
  po.quiet = o.quiet;
  const bool any_video = std::any_of(inputs.begin(), inputs.end(), [](const PredictInput& in) { return in.video; });
  predictor.annotate_folder_ = !o.annotate.empty() && !any_video;
  return predictor.finish(run_face_pipeline(po, predictor));
}

}  // namespace agegender
