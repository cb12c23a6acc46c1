#include "agegender/visitors.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "agegender/allocator.hpp"
#include "agegender/batch_split.hpp"
#include "agegender/compute.hpp"
#include "agegender/error.hpp"
#include "agegender/face_embedder.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/preprocess.hpp"
#include "agegender/tensor_memory.hpp"
#include "agegender/threads.hpp"
#include "model/checkpoint.hpp"
#include "model/device.hpp"
#include "model/inference.hpp"
#include "vision/face_detector.hpp"
#include "vision/face_pipeline.hpp"
#include "vision/inputs.hpp"
#include "visitors/cluster.hpp"
#include "visitors/day.hpp"
#include "visitors/day_outputs.hpp"
#include "visitors/evidence.hpp"
#include "visitors/stitch.hpp"
#include "visitors/tracker.hpp"

namespace agegender {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr int kDescSide = 150;  // face-api's descriptor input side
constexpr size_t kDescBytes = static_cast<size_t>(kDescSide) * kDescSide * 3;

double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      in >> kb;
      return kb / 1024;
    }
  }
  return 0;
}

// A live track's running state: fused answer, entry, and its best few frames' descriptors.
struct LiveTrack {
  TrackFusion fusion;
  long first_frame = 0, last_frame = 0;
  bool entered = false, has_prev = false;
  float first_x = 0, first_y = 0, px = 0, py = 0;  // first and latest face centre
  float first_side = 0, side = 0;                  // first and latest face box width
  std::vector<TrackPoint> path;
  std::vector<std::pair<float, std::vector<float>>> best;  // quality, descriptor
};

// Turns the face pipeline's chunks into evidence (age/gender, descriptors: batched networks) and tracks
// it; a replay of recorded evidence enters at start_camera / track_frame / end_camera.
class VisitorsConsumer : public FaceConsumer, public EvidenceSink {
 public:
  /// `embedder` may be null when only evidence is replayed; `recorder`, when given, gets all evidence.
  VisitorsConsumer(const VisitorsOptions& o, LoadedModel& m, FaceEmbedder* embedder, const DayInfo& info,
                   EvidenceWriter* recorder)
      : o_(o), m_(m), embedder_(embedder), recorder_(recorder), info_(info),
        decoder_(m.spec, m.binning, m.class_mean_age),
        model_bytes_(static_cast<size_t>(m.input.channels) * m.input.size * m.input.size) {
    tracker_options_.high_score = o.track_score;
    tracker_options_.confirm_frames = o.min_track_frames;
    tracker_options_.max_missed = o.max_missed;
    tracker_options_.max_look_distance = o.look_distance;
  }

  void prepare_face(const FoundFace& found, PipelineFace& face) const override {
    const auto t0 = Clock::now();
    const ModelInput& in = m_.input;
    std::vector<uint8_t> source(static_cast<size_t>(in.source_size) * in.source_size * 3);
    center_square_rgb(found.crop, in.source_size, source.data());
    face.data.resize(model_bytes_ + kDescBytes);
    source_to_model(source.data(), in, face.data.data());
    center_square_rgb(found.crop, kDescSide, face.data.data() + model_bytes_);
    prepare_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  }

  void consume(std::vector<PipelineItem>& items) override;

  void begin_video(const PredictInput& in, cv::VideoCapture& cap) override {
    const double rate = cap.get(cv::CAP_PROP_FPS);
    start_camera(in.path, o_.fps > 0 ? o_.fps : (rate > 0 && rate < 1000 ? rate : 10.0));
    if (o_.annotate.empty()) return;
    const cv::Size size(static_cast<int>(cap.get(cv::CAP_PROP_FRAME_WIDTH)), static_cast<int>(cap.get(cv::CAP_PROP_FRAME_HEIGHT)));
    const bool avi = fs::path(o_.annotate).extension() == ".avi";
    const int fourcc = avi ? cv::VideoWriter::fourcc('M', 'J', 'P', 'G') : cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    video_out_ = std::make_unique<cv::VideoWriter>(o_.annotate, fourcc, fps_ / o_.every, size);
    if (!video_out_->isOpened()) throw RuntimeError("--annotate " + o_.annotate + ": cannot create the annotated video");
  }

  void end_video() override {
    end_camera();
    if (video_out_) video_out_->release();
  }

  /// Ends the last camera (folders of frames) and returns the day's tracks.
  std::vector<TrackRecord> finish() {
    end_camera();
    return std::move(tracks_);
  }

  nlohmann::json stages() const {
    return {{"prepare_faces", prepare_ns_.load() / 1e9}, {"classify", classify_s_}, {"track", track_s_}, {"describe", describe_s_}};
  }
  size_t frames = 0, faces = 0, errors = 0, stitched = 0;
  double video_seconds = 0;

  void start_camera(const std::string& name, double fps) override;
  void track_frame(const FrameEvidence& frame) override { track(frame); }
  void end_camera() override;

 private:
  std::vector<int> track(const FrameEvidence& frame);  // the frame's track ids, per face
  void finish_tracks(const std::vector<TrackEnd>& ended);
  void annotate(PipelineItem& item, const std::vector<int>& ids);
  std::vector<float> describe(const std::vector<const PipelineFace*>& faces);
  // Face batches of --batch (16), then 8, 4, 2, 1: a few tensor shapes for the block cache. On a 164 s
  // file, batches of 1 to 64 faces missed the cache 941 times (166 this way) and ran 27 % slower.
  std::vector<size_t> face_batches(size_t n) const { return power_of_two_batches(n, static_cast<size_t>(o_.batch)); }

  const VisitorsOptions& o_;
  LoadedModel& m_;
  FaceEmbedder* embedder_;
  EvidenceWriter* recorder_;
  const DayInfo& info_;
  HeadDecoder decoder_;
  size_t model_bytes_;
  TrackerOptions tracker_options_;
  std::unique_ptr<Tracker> tracker_;
  std::map<int, LiveTrack> live_;
  std::vector<TrackRecord> tracks_;
  int camera_ = -1;
  std::string camera_name_;
  double fps_ = 10, camera_start_ = 0;
  long still_frame_ = 0, last_frame_ = -1;
  int next_track_ = 1;
  size_t camera_begin_ = 0;  // the current camera's first record in tracks_
  std::unique_ptr<cv::VideoWriter> video_out_;
  mutable std::atomic<int64_t> prepare_ns_{0};
  double classify_s_ = 0, track_s_ = 0, describe_s_ = 0;
  static constexpr double kTrimSeconds = 30;
  Clock::time_point last_trim_ = Clock::now();
};

void VisitorsConsumer::start_camera(const std::string& name, double fps) {
  end_camera();
  ++camera_;
  camera_name_ = name;
  fps_ = fps;
  camera_start_ = info_.clock.video_start(name);
  still_frame_ = 0;
  last_frame_ = -1;
  tracker_ = std::make_unique<Tracker>(tracker_options_);
  if (recorder_) recorder_->start_camera(name, fps);
}

void VisitorsConsumer::end_camera() {
  if (!tracker_) return;
  if (recorder_) recorder_->end_camera();
  tracker_->finish();
  finish_tracks(tracker_->take_ended());
  // Walks broken apart by a pillar or a long miss become one track again (a walk may cross the entry
  // line in the gap, so pieces that have not entered are kept until now); the tracks that count are
  // numbered afresh in time order.
  const auto t0 = Clock::now();
  StitchOptions so;
  so.max_gap = o_.stitch_gap;
  stitched += stitch_tracks(tracks_, camera_begin_, so, info_.entries);
  size_t keep = camera_begin_;
  for (size_t i = camera_begin_; i < tracks_.size(); ++i) {
    if (!tracks_[i].entered) continue;
    if (keep != i) tracks_[keep] = std::move(tracks_[i]);
    tracks_[keep++].id = next_track_++;
  }
  tracks_.resize(keep);
  for (size_t i = camera_begin_; i < tracks_.size(); ++i) std::vector<TrackPoint>().swap(tracks_[i].path);
  camera_begin_ = tracks_.size();
  track_s_ += seconds_since(t0);
  if (last_frame_ >= 0) video_seconds += (last_frame_ + 1) / fps_;
  tracker_.reset();
}

// Confirmed tracks that end get their descriptor (the mean of their best frames') and become the camera's
// records (end_camera() keeps those that entered).
void VisitorsConsumer::finish_tracks(const std::vector<TrackEnd>& ended) {
  for (const TrackEnd& e : ended) {
    auto it = live_.find(e.id);
    if (it == live_.end()) continue;
    LiveTrack lt = std::move(it->second);
    live_.erase(it);
    if (!e.confirmed || lt.best.empty()) continue;
    TrackRecord r;
    r.camera = camera_;
    r.video = camera_name_;
    r.first_frame = lt.first_frame;
    r.last_frame = lt.last_frame;
    r.frames = lt.fusion.frames();
    r.first_time = camera_start_ + lt.first_frame / fps_;
    r.last_time = camera_start_ + lt.last_frame / fps_;
    r.age_probs = lt.fusion.age_probs();
    r.female_prob = lt.fusion.female_prob();
    r.age = lt.fusion.age();
    r.weight = lt.fusion.weight();
    r.entered = lt.entered;
    r.first_x = lt.first_x, r.first_y = lt.first_y, r.last_x = lt.px, r.last_y = lt.py;
    r.first_side = lt.first_side, r.last_side = lt.side;
    r.path = std::move(lt.path);
    r.descriptor.assign(kDescriptorSize, 0.0f);
    for (const auto& [quality, d] : lt.best) {
      for (int j = 0; j < kDescriptorSize; ++j) r.descriptor[j] += d[j] / static_cast<float>(lt.best.size());
    }
    tracks_.push_back(std::move(r));
  }
}

// face-api descriptors of the faces, batched (one batch of planes in memory at a time).
std::vector<float> VisitorsConsumer::describe(const std::vector<const PipelineFace*>& faces) {
  constexpr size_t kPlane = 3 * kDescSide * kDescSide;
  std::vector<float> out, planes;
  out.reserve(faces.size() * kDescriptorSize);
  size_t start = 0;
  for (const size_t n : face_batches(faces.size())) {
    planes.resize(n * kPlane);
    for (size_t i = 0; i < n; ++i) {
      FaceEmbedder::preprocess({faces[start + i]->data.data() + model_bytes_, kDescSide, kDescSide}, planes.data() + i * kPlane);
    }
    const auto d = embedder_->embed_preprocessed(planes.data(), n);
    out.insert(out.end(), d.begin(), d.end());
    start += n;
  }
  return out;
}

std::vector<int> VisitorsConsumer::track(const FrameEvidence& fe) {
  if (recorder_) recorder_->frame(fe);
  if (fe.frame < 0 || !tracker_) {
    ++errors;
    return {};
  }
  if (fe.error) ++errors;
  ++frames;
  last_frame_ = fe.frame;
  std::vector<TrackDetection> dets;
  for (const FaceEvidence& f : fe.faces) dets.push_back({f.box, f.score, f.descriptor});
  const std::vector<int> ids = tracker_->update(fe.frame, dets);
  const size_t k = m_.binning.class_names().size();
  for (size_t f = 0; f < fe.faces.size(); ++f) {
    ++faces;
    if (ids[f] < 0) continue;
    const FaceEvidence& face = fe.faces[f];
    LiveTrack& lt = live_[ids[f]];
    if (lt.fusion.frames() == 0) {
      lt.fusion = TrackFusion(k);
      lt.first_frame = fe.frame;
    }
    lt.last_frame = fe.frame;
    const float side = face.box.w;
    // The calibration is applied here, not when recording: a replay takes the model's current one.
    lt.fusion.add(face.age_probs.empty() ? nullptr : face.age_probs.data(), face.female_prob, face.score, side,
                  face.age >= 0 ? m_.age_calibration.apply(face.age) : -1.0);
    const float x = face.box.cx(), y = face.box.cy();
    lt.entered = info_.entries.step(lt.entered, lt.has_prev, lt.px, lt.py, x, y);
    if (!lt.has_prev) lt.first_x = x, lt.first_y = y, lt.first_side = side;
    lt.has_prev = true;
    lt.px = x, lt.py = y, lt.side = side;
    lt.path.push_back({camera_start_ + fe.frame / fps_, x, y, side});
    // The best frames for the descriptor: high score, large face (up to the descriptor's 150 px).
    const float quality = face.score * std::min(side, 150.0f);
    if (static_cast<int>(lt.best.size()) < o_.best_frames || quality > lt.best.back().first) {
      if (static_cast<int>(lt.best.size()) == o_.best_frames) lt.best.pop_back();
      lt.best.emplace_back(quality, face.descriptor);
      std::sort(lt.best.begin(), lt.best.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    }
  }
  finish_tracks(tracker_->take_ended());
  return ids;
}

void VisitorsConsumer::consume(std::vector<PipelineItem>& items) {
  // Age and gender of every face of the chunk, batched.
  auto t0 = Clock::now();
  std::vector<const PipelineFace*> all;
  for (const auto& it : items) {
    for (const auto& f : it.faces) all.push_back(&f);
  }
  const size_t k = m_.binning.class_names().size();
  std::vector<float> age_probs, female_probs, ages;
  {
    torch::NoGradGuard no_grad;
    const torch::Device device = m_.model->parameters().front().device();
    const int64_t size = m_.input.size, channels = m_.input.channels;
    size_t start = 0;
    for (const size_t batch : face_batches(all.size())) {
      const auto n = static_cast<int64_t>(batch);
      auto x = torch::empty({n, channels, size, size}, torch::kFloat);
      for (int64_t i = 0; i < n; ++i) normalize_pixels(all[start + i]->data.data(), m_.input, x[i].data_ptr<float>());
      const HeadProbs h = infer(*m_.model, decoder_, x.to(device), /*tta=*/false);
      if (h.age_probs.defined()) age_probs.insert(age_probs.end(), h.age_probs.data_ptr<float>(), h.age_probs.data_ptr<float>() + h.age_probs.numel());
      if (h.female_prob.defined()) female_probs.insert(female_probs.end(), h.female_prob.data_ptr<float>(), h.female_prob.data_ptr<float>() + h.female_prob.numel());
      if (decoder_.years() && h.expected_age.defined()) {  // uncalibrated: decoder_ has no calibration
        ages.insert(ages.end(), h.expected_age.data_ptr<float>(), h.expected_age.data_ptr<float>() + h.expected_age.numel());
      }
      start += batch;
    }
  }
  classify_s_ += seconds_since(t0);
  // Every face's descriptor: the tracker's appearance gate, and the best frames' make the track's.
  t0 = Clock::now();
  const std::vector<float> descriptors = describe(all);
  describe_s_ += seconds_since(t0);
  t0 = Clock::now();
  size_t next = 0;
  for (auto& it : items) {
    if (!it.input->video) {  // a folder of frames: each folder is one camera, its frames in name order
      const std::string folder = fs::path(it.input->path).parent_path().string();
      if (!tracker_ || folder != camera_name_) start_camera(folder, o_.fps > 0 ? o_.fps : 10.0);
      it.frame = still_frame_++;
    }
    FrameEvidence fe;
    fe.frame = tracker_ ? it.frame : -1;  // no camera: a video that could not be opened
    fe.error = !it.error.empty() && it.error != "no face found";
    for (const auto& f : it.faces) {
      FaceEvidence e;
      e.box = {static_cast<float>(f.box.x), static_cast<float>(f.box.y), static_cast<float>(f.box.width),
               static_cast<float>(f.box.height)};
      e.score = f.score;
      if (!age_probs.empty()) e.age_probs.assign(&age_probs[next * k], &age_probs[(next + 1) * k]);
      if (!female_probs.empty()) e.female_prob = female_probs[next];
      if (!ages.empty()) e.age = ages[next];
      e.descriptor.assign(&descriptors[next * kDescriptorSize], &descriptors[(next + 1) * kDescriptorSize]);
      fe.faces.push_back(std::move(e));
      ++next;
    }
    const std::vector<int> ids = track(fe);
    if (video_out_ && !it.image.empty() && ids.size() == it.faces.size()) annotate(it, ids);  // every frame, faces or not
    it.image.release();
  }
  track_s_ += seconds_since(t0);
  // Hours of video: hand the heap's free pages back now and then. tune_allocator() keeps them (LibTorch's
  // buffers would page-fault afresh every batch), and the heap's high-water mark then kept rising with
  // fragmentation (650 -> 844 MiB within 27 minutes of video); trimming after every chunk cost 9 % speed.
  if (seconds_since(last_trim_) >= kTrimSeconds) {
    release_free_memory();
    last_trim_ = Clock::now();
  }
}

void VisitorsConsumer::annotate(PipelineItem& item, const std::vector<int>& ids) {
  cv::Mat& img = item.image;
  for (size_t f = 0; f < item.faces.size(); ++f) {
    const cv::Rect box = item.faces[f].box & cv::Rect(0, 0, img.cols, img.rows);
    if (box.area() <= 0) continue;
    if (o_.blur) {
      cv::Mat roi = img(box);
      cv::GaussianBlur(roi, roi, cv::Size(0, 0), std::max(2.0, box.width / 8.0));  // features gone, a face shape left
    }
    const cv::Scalar colour = ids[f] < 0 ? cv::Scalar(128, 128, 128) : cv::Scalar(60, 200, 60);
    cv::rectangle(img, box, colour, 2);
    if (ids[f] >= 0) {
      cv::putText(img, "T" + std::to_string(ids[f]), {box.x, std::max(12, box.y - 4)}, cv::FONT_HERSHEY_SIMPLEX, 0.5,
                  colour, 1, cv::LINE_AA);
    }
  }
  video_out_->write(img);
}

void check_annotate(const VisitorsOptions& o, const std::vector<PredictInput>& inputs) {
  if (o.annotate.empty()) {
    if (o.blur) throw UsageError("--blur applies to --annotate output: give --annotate VIDEO too");
    return;
  }
  if (inputs.size() != 1 || !inputs[0].video) {
    throw UsageError("--annotate " + o.annotate + ": annotation needs exactly one video as --input");
  }
  const std::string ext = fs::path(o.annotate).extension().string();
  if (ext != ".mp4" && ext != ".avi") throw UsageError("--annotate " + o.annotate + ": expected a .mp4 or .avi file");
  struct stat a {}, b {};
  if (::stat(o.annotate.c_str(), &a) == 0 && ::stat(inputs[0].path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino) {
    throw UsageError("--annotate " + o.annotate + " is the input video: choose another file");
  }
}

void check_options(const VisitorsOptions& o) {
  if (o.out.empty()) throw UsageError("--out: name the output folder");
  if (o.fps < 0 || o.fps > 1000) throw UsageError("--fps " + std::to_string(o.fps) + ": expected 0 (from the video) or a rate up to 1000");
  if (o.every < 1) throw UsageError("--every must be >= 1");
  if (o.batch < 1) throw UsageError("--batch must be >= 1");
  if (o.min_track_frames < 1) throw UsageError("--min-track-frames must be >= 1");
  if (o.max_missed < 0) throw UsageError("--max-missed must be >= 0");
  if (o.best_frames < 1 || o.best_frames > 32) throw UsageError("--best-frames must be 1..32");
  if (!(o.same_person > 0 && o.same_person < 4)) throw UsageError("--same-person must be in (0, 4) (a descriptor distance)");
  if (!(o.min_score >= 0 && o.min_score < 1) || !(o.track_score >= o.min_score && o.track_score < 1)) {
    throw UsageError("--min-score / --track-score: expected 0 <= min-score <= track-score < 1");
  }
  if (o.visit_gap < 0) throw UsageError("--visit-gap must be >= 0 seconds");
  if (!(o.stitch_gap >= 0 && o.stitch_gap <= 60)) throw UsageError("--stitch-gap must be 0 (off) to 60 seconds");
  if (!(o.look_distance > 0 && o.look_distance < 4)) throw UsageError("--look-distance must be in (0, 4) (a descriptor distance)");
  if (!o.record_evidence.empty() && fs::path(o.record_evidence).extension() != kEvidenceExtension) {
    throw UsageError("--record-evidence " + o.record_evidence + ": expected a file name ending in " + kEvidenceExtension);
  }
}

}  // namespace

VisitorsReport run_visitors(const VisitorsOptions& o) {
  // Every usage check before a model loads or anything is written.
  check_options(o);
  const int threads = resolve_threads(o.threads, "--threads");
  check_max_pixels(o.max_pixels);
  DayInfo info;
  info.clock = DayClock::parse(o.start);
  info.entries = EntryRule::parse(o.line, o.roi);
  // A recorded day (--record-evidence) replays through tracking, stitching and clustering only.
  const bool replay = fs::path(o.input).extension() == kEvidenceExtension;
  if (replay && !fs::is_regular_file(o.input)) throw UsageError("--input " + o.input + ": no such evidence file");
  if (replay && !o.annotate.empty()) throw UsageError("--annotate needs video input: " + o.input + " holds no images");
  const std::vector<PredictInput> inputs = replay ? std::vector<PredictInput>{} : list_predict_inputs(o.input);
  if (!replay) check_annotate(o, inputs);
  DetectorOptions det = detector_options(o);
  det.tiny_input = o.tiny_input;
  if (o.tiny_input < 128 || o.tiny_input > 1600 || o.tiny_input % 32 != 0) {
    throw UsageError("--tiny-input " + std::to_string(o.tiny_input) + ": expected a multiple of 32 from 128 to 1600");
  }
  if (det.mode == DetectMode::None) throw UsageError("--detect none: visitors needs a face detector (auto, ssd, tiny, haar)");
  tune_allocator();
  use_block_cache_for_tensors();  // hours of video: tensors' memory must not fragment the heap (block_cache.hpp)
  cap_kernel_cache();  // face batches of every size over hours of video (docs/visitors.md: 447 -> 1,354 MB uncapped)
  set_compute_threads(threads);
  const torch::Device device = pick_device(o.device, "--device");
  LoadedModel model = load_trained_model(o.model);
  model.model->to(device);
  model.model->eval();
  std::unique_ptr<FaceEmbedder> embedder;
  if (!replay) embedder = std::make_unique<FaceEmbedder>(face_models_dir(o.models), o.device);
  info.age_groups = model.binning.class_names();
  info.class_mean_age = model.class_mean_age;
  info.age_share_weights = model.age_share_weights;
  info.gender_share_weights = model.gender_share_weights;
  std::unique_ptr<EvidenceWriter> recorder;
  if (!o.record_evidence.empty()) recorder = std::make_unique<EvidenceWriter>(o.record_evidence, info.age_groups);

  VisitorsConsumer consumer(o, model, embedder.get(), info, recorder.get());
  const auto t0 = Clock::now();
  PipelineReport p;
  if (replay) {
    p.inputs = p.read_ok = replay_evidence(o.input, info.age_groups, consumer);
  } else {
    FacePipelineOptions po;
    po.inputs = &inputs;
    po.detector = det;
    po.every = o.every;
    po.threads = threads;
    po.max_pixels = o.max_pixels;
    po.keep_images = !o.annotate.empty();
    po.quiet = o.quiet;
    po.label = "Visitors";
    p = run_face_pipeline(po, consumer);
  }
  std::vector<TrackRecord> tracks = consumer.finish();
  throw_if_nothing_read(p);

  const auto tc = Clock::now();
  std::vector<ClusterItem> items;
  const bool ages = info.class_mean_age.size() == info.age_groups.size() && !info.age_groups.empty();
  for (const auto& t : tracks) {
    // The groups' expected age, not the year head's: the thresholds were measured with it (docs/visitors.md).
    const float strictness =
        ages && !t.age_probs.empty() ? strictness_for_age(age_answer(t.age_probs, info.age_groups, info.class_mean_age).age) : 1.0f;
    items.push_back({t.descriptor.data(), t.camera, t.first_frame, t.last_frame, strictness});
  }
  const std::vector<int> labels = cluster_tracks(items, kDescriptorSize, o.same_person);
  const std::vector<VisitorRecord> visitors = make_visitors(tracks, labels, o.visit_gap);
  const double cluster_s = seconds_since(tc);

  VisitorsReport r;
  r.seconds = seconds_since(t0);
  r.frames = consumer.frames;
  r.faces = consumer.faces;
  r.video_seconds = consumer.video_seconds;
  r.tracks = tracks.size();
  r.visitors = visitors.size();
  nlohmann::json stages = consumer.stages();
  stages["cluster"] = cluster_s;
  stages["decode"] = p.decode_seconds;
  stages["detect"] = p.detect_seconds;  // landmarks and alignment included when on
  info.processing = {{"frames", r.frames},
                     {"faces", r.faces},
                     {"frame_errors", consumer.errors},
                     {"video_seconds", r.video_seconds},
                     {"seconds", r.seconds},
                     {"realtime_factor", r.video_seconds / std::max(r.seconds, 1e-9)},
                     {"stages_seconds", stages},
                     {"threads", threads},
                     {"every", o.every},
                     {"detector", o.detect},
                     {"detect_size", det.fit_side},
                     {"min_score", o.min_score},
                     {"track_score", o.track_score},
                     {"same_person", o.same_person},
                     {"min_track_frames", o.min_track_frames},
                     {"stitch_gap", o.stitch_gap},
                     {"look_distance", o.look_distance},
                     {"replayed", replay},
                     {"stitched_tracks", consumer.stitched},
                     {"peak_rss_mb", peak_rss_mb()},
                     {"tensor_memory", tensor_memory_stats()}};
  r.summary = day_summary(tracks, visitors, info);
  write_day_outputs(o.out, tracks, visitors, r.summary, info, o.keep_descriptors);
  if (recorder) recorder->commit();
  return r;
}

}  // namespace agegender
