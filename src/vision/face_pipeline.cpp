#include "vision/face_pipeline.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>

#include "agegender/error.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/image_limits.hpp"
#include "agegender/threads.hpp"
#include "vision/face_detector.hpp"

namespace agegender {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

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

class Pipeline {
 public:
  Pipeline(const FacePipelineOptions& o, FaceConsumer& c) : o_(o), c_(c) {}
  PipelineReport run();

 private:
  void find_faces(PipelineItem& item, const cv::Mat& bgr, const FaceDetector& det) const;
  void run_stills(const std::vector<const PredictInput*>& stills);
  void run_video(const PredictInput& in);
  void emit_error(const PredictInput& in, long frame, const std::string& error);

  const FacePipelineOptions& o_;
  FaceConsumer& c_;
  std::vector<std::unique_ptr<FaceDetector>> detectors_;  // one per worker: cascades are not thread-safe
  PipelineReport report_;
  mutable std::atomic<int64_t> decode_ns_{0}, detect_ns_{0};  // summed over threads (visitors' stage times)
};

void Pipeline::find_faces(PipelineItem& item, const cv::Mat& bgr, const FaceDetector& det) const {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<FoundFace> found_faces = det.detect(bgr);
  detect_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  for (const FoundFace& found : found_faces) {
    PipelineFace f;
    f.box = found.box;
    f.score = found.score;
    f.landmarks = found.landmarks;
    c_.prepare_face(found, f);
    item.faces.push_back(std::move(f));
  }
  if (item.faces.empty()) item.error = "no face found";
  if (o_.keep_images) item.image = bgr;
}

void Pipeline::emit_error(const PredictInput& in, long frame, const std::string& error) {
  std::vector<PipelineItem> one(1);
  one[0].input = &in;
  one[0].frame = frame;
  one[0].error = error;
  c_.consume(one);
}

void Pipeline::run_stills(const std::vector<const PredictInput*>& stills) {
  constexpr size_t kChunk = 128;  // images decoded in parallel before the network runs over their faces
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t start = 0; start < stills.size(); start += kChunk) {
    std::vector<PipelineItem> items(std::min(kChunk, stills.size() - start));
    parallel_for(items.size(), o_.threads, [&](size_t i, int w) {
      PipelineItem& it = items[i];
      it.input = stills[start + i];
      it.error = it.input->error;  // e.g. a symlink loop found while listing the folder
      if (!it.error.empty()) return;
      try {  // whatever one image throws (cv::Exception, bad_alloc) is its error row, not the run's end
        const auto t0 = std::chrono::steady_clock::now();
        const std::string bytes = read_bytes(it.input->path, &it.error);
        cv::Mat bgr;
        const bool decoded = it.error.empty() && decode_bgr(bytes, &bgr, &it.error, o_.max_pixels);
        decode_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        if (decoded) {
          find_faces(it, bgr, *detectors_[static_cast<size_t>(w)]);
        }
      } catch (const std::exception& e) {
        it.faces.clear();
        it.image.release();
        it.error = std::string("cannot process image: ") + e.what();
      }
    });
    for (const auto& it : items) report_.read_ok += it.error.empty() || it.error == "no face found";
    c_.consume(items);
    if (!o_.quiet) {
      const size_t done = start + items.size();
      spdlog::info("{}: [{}/{}]  {:.1f} img/s", o_.label, done, stills.size(), done / std::max(seconds_since(t0), 1e-9));
    }
  }
}

void Pipeline::run_video(const PredictInput& in) {
  // FFmpeg first: the GStreamer backend prints assertion noise for files it cannot open.
  cv::VideoCapture cap(in.path, cv::CAP_FFMPEG);
  if (!cap.isOpened()) cap.open(in.path, cv::CAP_ANY);
  if (!cap.isOpened()) return emit_error(in, -1, "cannot open video");
  // FFmpeg has already read the stream header: refuse frames over the cap before decoding any.
  const std::string over = pixels_over_cap(static_cast<int64_t>(cap.get(cv::CAP_PROP_FRAME_WIDTH)),
                                           static_cast<int64_t>(cap.get(cv::CAP_PROP_FRAME_HEIGHT)), o_.max_pixels);
  if (!over.empty()) return emit_error(in, -1, "video frames are " + over);
  c_.begin_video(in, cap);
  const FaceDetector& det = *detectors_.back();  // the video path runs on this thread only
  constexpr size_t kFramesPerChunk = 16;
  std::vector<PipelineItem> items;
  cv::Mat frame;
  auto t_read = std::chrono::steady_clock::now();
  // Frames skipped by --every are only grabbed: FFmpeg still decodes them (the next frames depend on
  // them), but they are never converted to BGR.
  const auto next = [&](long index) { return index % o_.every != 0 ? cap.grab() : cap.read(frame); };
  for (long index = 0; next(index); ++index, t_read = std::chrono::steady_clock::now()) {
    report_.decode_seconds += seconds_since(t_read);
    if (index % o_.every != 0) continue;
    if (const std::string big = pixels_over_cap(frame.cols, frame.rows, o_.max_pixels); !big.empty()) {
      c_.consume(items);  // rows stay in frame order
      items.clear();
      emit_error(in, index, "video frame is " + big + "; the rest of the video is skipped");  // size changed mid-stream
      break;
    }
    PipelineItem item;
    item.input = &in;
    item.frame = index;
    try {
      find_faces(item, frame, det);
    } catch (const std::exception& e) {  // this frame's error row; the video goes on
      item.faces.clear();
      item.error = std::string("cannot process frame: ") + e.what();
    }
    if (o_.keep_images) item.image = frame.clone();
    ++report_.read_ok;
    ++report_.inputs;  // frames count as inputs for images/s
    items.push_back(std::move(item));
    if (items.size() == kFramesPerChunk) {
      c_.consume(items);
      items.clear();
    }
  }
  if (!items.empty()) c_.consume(items);
  c_.end_video();
}

PipelineReport Pipeline::run() {
  if (o_.every < 1) throw UsageError("--every must be >= 1");
  std::vector<PredictInput> listed;
  if (!o_.inputs) listed = list_predict_inputs(o_.input);
  std::vector<const PredictInput*> stills, videos;
  for (const auto& in : o_.inputs ? *o_.inputs : listed) (in.video ? videos : stills).push_back(&in);
  for (int w = 0; w < o_.threads; ++w) detectors_.push_back(std::make_unique<FaceDetector>(o_.detector));
  if (!videos.empty()) detectors_.push_back(std::make_unique<FaceDetector>(o_.detector, /*scenes_only=*/true));
  c_.begin();
  const auto t0 = std::chrono::steady_clock::now();
  report_.inputs = stills.size();
  run_stills(stills);
  for (const auto* v : videos) run_video(*v);
  report_.seconds = seconds_since(t0);
  report_.decode_seconds += decode_ns_.load() / 1e9;
  report_.detect_seconds = detect_ns_.load() / 1e9;
  return report_;
}

}  // namespace

PipelineReport run_face_pipeline(const FacePipelineOptions& options, FaceConsumer& consumer) {
  return Pipeline(options, consumer).run();
}

void throw_if_nothing_read(const PipelineReport& r) {
  if (r.read_ok == 0) throw RuntimeError("no input could be read (" + std::to_string(r.inputs) + " tried; see the error column)");
}

}  // namespace agegender
