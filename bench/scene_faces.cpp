// Faces as `agegender visitors` hands them to the age/gender model, with their labels: UTKFace crops of
// one split (read from the archive at run time) walk a few frames through generated 1280x720 shop scenes
// the way the store day paints them (48-160 px, brightness 0.6-1.3x, a shelf edge over the lower face now
// and then), the frames go through the store day's video codec (mp4v), and visitors' detector, landmarks
// and alignment (its defaults) cut each face out. Every detected face is written as the model's source
// pixels (centre square at `size` px) into OUT_DIR/faces under its crop's UTKFace name with a suffix, so
// `prepare --data OUT_DIR/faces` reads the set like the archive; OUT_DIR/scene_faces.json says how many
// were found. `clean=1` also writes every crop as it is (suffix "c"): a set of clean and scene faces. For training on the store's pixels (train/val split) and scoring on them (test).
// The output is derived from UTKFace: keep it out of the repository (data/ is git-ignored).
//   bench_scene_faces ARCHIVE OUT_DIR [split=trainval|test] [copies=1] [clean=0] [size=150] [seed=1]
//                     [threads=2] [models=DIR]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <random>
#include <string>
#include <vector>

#include "agegender/compute.hpp"
#include "agegender/error.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/visitors.hpp"
#include "scene_paint.hpp"
#include "vision/face_detector.hpp"

using namespace agegender;
namespace fs = std::filesystem;

namespace {

constexpr int kWidth = 1280, kHeight = 720, kCols = 4, kRows = 2;  // one face per cell, 8 per frame
constexpr int kClipFrames = 5;          // a short walk; the middle frame is the one detected
constexpr int kClipsPerVideo = 40;      // one background (a camera) per video, as on the store day
constexpr double kOccluded = 0.25 * 0.3;  // the store day: a quarter of walks, for 30 % of their frames

struct Face {
  size_t crop = 0;
  double x = 0, y = 0, side = 0, dx = 0, grow = 1, gain = 1;
  bool occluded = false;
};

struct Tally {
  size_t pasted = 0, written = 0, extra = 0;  // faces pasted, faces found and written, detections on no face
  std::map<int, std::pair<size_t, size_t>> by_side;  // side bucket -> pasted, found
};

// The model's source pixels of `bgr` (what visitors hands the model) as a JPEG of quality 95.
void write_source_pixels(const cv::Mat& bgr, int size, const fs::path& file) {
  std::vector<uint8_t> rgb(static_cast<size_t>(size) * size * 3);
  center_square_rgb(bgr, size, rgb.data());
  cv::Mat out;
  cv::cvtColor(cv::Mat(size, size, CV_8UC3, rgb.data()), out, cv::COLOR_RGB2BGR);
  if (!cv::imwrite(file.string(), out, {cv::IMWRITE_JPEG_QUALITY, 95})) throw RuntimeError("cannot write " + file.string());
}

int side_bucket(double side) { return side < 64 ? 48 : side < 96 ? 64 : side < 128 ? 96 : 128; }

// UTKFace's name with a suffix on the datetime field (the labels stay, prepare parses them).
std::string suffixed_name(const std::string& name, const std::string& suffix) {
  return name.substr(0, name.find(".jpg")) + suffix + ".jpg.chip.jpg";
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_scene_faces ARCHIVE OUT_DIR [split=trainval|test] [copies=1] [clean=0] [size=150] "
                         "[seed=1] [threads=2] [models=DIR]\n");
    return 2;
  }
  std::map<std::string, std::string> kv{{"split", "trainval"}, {"copies", "1"}, {"clean", "0"}, {"size", "150"}, {"seed", "1"},
                                        {"threads", "2"}, {"models", ""}};
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    if (eq == std::string::npos || !kv.count(a.substr(0, eq))) throw UsageError("unknown argument " + a);
    kv[a.substr(0, eq)] = a.substr(eq + 1);
  }
  const std::string split = kv["split"];
  if (split != "trainval" && split != "test") throw UsageError("split=" + split + ": expected trainval or test");
  if (kv["clean"] != "0" && kv["clean"] != "1") throw UsageError("clean=" + kv["clean"] + ": expected 0 or 1");
  const int copies = std::stoi(kv["copies"]), size = std::stoi(kv["size"]);
  if (copies < 1 || size < 32) throw UsageError("copies >= 1 and size >= 32 expected");
  const fs::path out = argv[2], faces_dir = out / "faces";
  fs::create_directories(faces_dir);
  set_compute_threads(std::stoi(kv["threads"]));

  VisitorsOptions defaults;  // visitors' detector, exactly as run_visitors sets it up
  defaults.models = kv["models"];
  DetectorOptions det_options = detector_options(defaults);
  det_options.tiny_input = defaults.tiny_input;
  const FaceDetector detector(det_options, /*scenes_only=*/true);
  if (!detector.aligns()) throw RuntimeError("no landmark model: visitors would not align (run scripts/fetch_face_models.sh)");

  const auto t0 = std::chrono::steady_clock::now();
  const bench::SplitCrops crops = bench::split_crops(
      argv[1], split == "test" ? std::vector<Split>{Split::Test} : std::vector<Split>{Split::Train, Split::Val});
  std::mt19937 rng(static_cast<unsigned>(std::stoul(kv["seed"])));
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };

  // Every crop `copies` times, in shuffled order, 8 to a frame.
  std::vector<std::pair<size_t, int>> queue;
  for (int c = 0; c < copies; ++c) {
    for (size_t i = 0; i < crops.files.size(); ++i) queue.emplace_back(i, c);
  }
  std::shuffle(queue.begin(), queue.end(), rng);
  const size_t per_frame = kCols * kRows, per_video = per_frame * kClipsPerVideo;
  const fs::path tmp_video = out / ".scene_faces.tmp.mp4";
  Tally tally;
  size_t clean_written = 0;
  for (size_t start = 0; start < queue.size(); start += per_video) {
    const size_t end = std::min(queue.size(), start + per_video);
    std::vector<std::vector<Face>> clips;
    for (size_t q = start; q < end; q += per_frame) {
      std::vector<Face> clip;
      for (size_t k = 0; k < per_frame && q + k < end; ++k) {
        Face f;
        f.crop = q + k;  // index into queue
        f.side = std::exp(uni(std::log(48.0), std::log(160.0)));
        const double cw = static_cast<double>(kWidth) / kCols, ch = static_cast<double>(kHeight) / kRows;
        const double col = static_cast<double>(k % kCols), row = static_cast<double>(k / kCols);
        const double margin = f.side * 0.7;  // room for the walk and the growth
        f.x = col * cw + uni(margin, cw - margin);
        f.y = row * ch + uni(std::min(margin, ch / 2), std::max(ch - margin, ch / 2));
        f.dx = (uni(0, 1) < 0.5 ? -1 : 1) * uni(0.02, 0.06) * f.side;  // per frame, like a walk across the view
        f.grow = uni(0.98, 1.02);
        f.gain = uni(0.6, 1.3);
        f.occluded = uni(0, 1) < kOccluded;
        clip.push_back(f);
      }
      clips.push_back(std::move(clip));
    }
    // Decode the video's crops once (and write the clean ones).
    std::map<size_t, cv::Mat> decoded;
    for (const auto& clip : clips) {
      for (const Face& f : clip) {
        cv::Mat bgr;
        std::string err;
        const auto& [index, copy] = queue[f.crop];
        const SourceFile* file = crops.files[index];
        if (!decode_bgr(file->bytes, &bgr, &err)) throw RuntimeError(file->name + ": " + err);
        decoded[f.crop] = bgr;
        if (kv["clean"] == "1" && copy == 0) {
          write_source_pixels(bgr, size, faces_dir / suffixed_name(file->name, "c"));
          ++clean_written;
        }
      }
    }
    {
      cv::VideoWriter vw(tmp_video.string(), cv::VideoWriter::fourcc('m', 'p', '4', 'v'), 10, cv::Size(kWidth, kHeight));
      if (!vw.isOpened()) throw RuntimeError("cannot write " + tmp_video.string());
      const cv::Mat bg = bench::shop_background(kWidth, kHeight, rng);
      cv::Mat frame;
      for (const auto& clip : clips) {
        for (int t = 0; t < kClipFrames; ++t) {
          bg.copyTo(frame);
          for (const Face& f : clip) {
            const int side = static_cast<int>(std::round(f.side * std::pow(f.grow, t - kClipFrames / 2)));
            bench::paste_face(frame, decoded[f.crop], f.x + f.dx * (t - kClipFrames / 2), f.y, side, f.gain, f.occluded);
          }
          vw.write(frame);
        }
      }
    }
    cv::VideoCapture cap(tmp_video.string());
    if (!cap.isOpened()) throw RuntimeError("cannot read back " + tmp_video.string());
    cv::Mat frame;
    for (const auto& clip : clips) {
      for (int t = 0; t < kClipFrames; ++t) {
        if (!cap.read(frame)) throw RuntimeError("the codec lost frames of " + tmp_video.string());
        if (t != kClipFrames / 2) continue;
        const std::vector<FoundFace> found = detector.detect(frame);
        std::vector<bool> used(found.size(), false);
        for (const Face& f : clip) {
          ++tally.pasted;
          auto& bucket = tally.by_side[side_bucket(f.side)];
          ++bucket.first;
          // The detection framed as UTKFace's crop (grown 1.1x) whose centre is nearest this face's,
          // within a quarter of its side and of a plausible size.
          int best = -1;
          double best_d = 0.25 * f.side;
          for (size_t j = 0; j < found.size(); ++j) {
            const cv::Rect& b = found[j].box;
            const double d = std::hypot(b.x + b.width / 2.0 - f.x, b.y + b.height / 2.0 - f.y);
            const double ratio = b.width / f.side;
            if (!used[j] && d < best_d && ratio > 0.7 && ratio < 1.7) best = static_cast<int>(j), best_d = d;
          }
          if (best < 0) continue;
          used[static_cast<size_t>(best)] = true;
          ++bucket.second;
          const auto& [index, copy] = queue[f.crop];
          write_source_pixels(found[static_cast<size_t>(best)].crop, size,
                              faces_dir / suffixed_name(crops.files[index]->name, "s" + std::to_string(copy)));
          ++tally.written;
        }
        for (bool u : used) tally.extra += !u;
      }
    }
    std::fprintf(stderr, "\rscene faces: %zu / %zu pasted, %zu written", tally.pasted, queue.size(), tally.written);
  }
  fs::remove(tmp_video);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::ordered_json report = {{"split", split},       {"crops", crops.files.size()}, {"copies", copies}, {"clean_written", clean_written},
                                    {"size", size},         {"seed", std::stoul(kv["seed"])},
                                    {"pasted", tally.pasted}, {"written", tally.written},
                                    {"recall", static_cast<double>(tally.written) / std::max<size_t>(tally.pasted, 1)},
                                    {"unmatched_detections", tally.extra}, {"seconds", seconds}};
  for (const auto& [side, n] : tally.by_side) {
    report["recall_by_side"][std::to_string(side) + "+"] = static_cast<double>(n.second) / std::max<size_t>(n.first, 1);
  }
  std::ofstream(out / "scene_faces.json") << report.dump(1) << "\n";
  std::printf("\n%s\n", report.dump(1).c_str());
  return 0;
} catch (const UsageError& e) {
  std::fprintf(stderr, "bench_scene_faces: %s\n", e.what());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_scene_faces: %s\n", e.what());
  return 1;
}
