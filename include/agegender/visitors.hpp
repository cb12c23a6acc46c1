#pragma once
// `agegender visitors`: daily unique visitors and their age/gender from store camera videos (or folders
// of frames): detect faces, track them per camera, fuse each track's age/gender over its frames, describe
// each track by its best frames, cluster the day's tracks into visitors. Writes visitors.csv, tracks.csv,
// summary.json and report.html. No face image, crop or descriptor is written unless asked
// (keep_descriptors, annotate); descriptors live in memory for the run only.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "agegender/detection_flags.hpp"
#include "agegender/image_limits.hpp"

namespace agegender {

/// Same-person distance between two tracks' mean descriptors (average linkage), measured on the
/// generated store day (docs/visitors.md).
// Measured on generated store days (docs/visitors.md): with 300 people a day, average linkage over
// face-api descriptors of different real people starts merging them at 0.35 (pairwise precision 0.91;
// 0.40 at 0.5), while every returning visitor still joins at 0.325.
inline constexpr double kDefaultSamePerson = 0.325;

/// The detection flags (DetectionFlags) with visitors' defaults, chosen on the generated store day
/// (docs/visitors.md): face-api's Tiny detector on the frame at 1280 px wide, unpadded (a 1280x720 camera
/// at its own scale: it finds the 48-64 px faces that SSD's 512 px and Tiny's 832 px square inputs lose,
/// for 1.4x the pixels of the 832 square), weak detections down to 0.25 kept (they extend tracks, never
/// start one).
struct VisitorsOptions : DetectionFlags {
  VisitorsOptions() {
    detect = "tiny";
    detect_size = 1280;
    min_score = 0.25f;
  }
  std::string model;   // run directory or .safetensors checkpoint (age/gender)
  std::string input;   // video, folder of videos, or folder(s) of frames (each folder of frames = one camera)
  std::string out;     // output folder
  std::string start;   // ISO local time of the videos' first frame ("" = offsets)
  double fps = 0;      // 0 = the video's own rate (frames: 10)
  int every = 2;       // process every 2nd frame (tracking bridges the others)
  float track_score = 0.35f; // detections at or above start tracks
  int tiny_input = 832;     // --detect tiny: network input side (multiple of 32; larger finds smaller faces)
  std::string line, roi;      // entry counting (one of them)
  double same_person = kDefaultSamePerson;
  int min_track_frames = 3;   // K detections before a track counts (3: two-detection pieces split walks)
  int max_missed = 8;         // processed frames a track may go unseen
  double stitch_gap = 2.0;    // seconds across which one camera's broken tracks are joined (0 = off)
  int best_frames = 8;        // frames whose descriptors make a track's descriptor (4 -> 8: pairs over walks
                              // 0.948 -> 0.983 on the 300-person day, docs/visitors.md)
  double visit_gap = 1800;    // seconds between a visitor's tracks that start a new visit
  std::string annotate;       // video file (one video input) or folder (one .mp4 per video)
  bool blur = false;          // blur faces in the annotated video
  bool keep_descriptors = false;  // write descriptors.csv (biometric data)
  std::string record_evidence;    // write every frame's faces (boxes, age/gender, descriptors: biometric
                                  // data) to this .agev file; `input` naming one replays it
  float look_distance = 0.45f;    // the tracker's appearance gate (TrackerOptions::max_look_distance)
  int threads = 0;
  int batch = 16;  // largest face batch; the rest of a chunk goes in powers of two (batch_split.hpp)
  int64_t max_pixels = kDefaultMaxPixels;
  std::string device = "auto";
  bool quiet = false;
};

struct VisitorsReport {
  size_t visitors = 0, tracks = 0, frames = 0, faces = 0;
  double seconds = 0, video_seconds = 0;
  nlohmann::json summary;
};

/// Throws UsageError for bad options or paths (before anything is written), RuntimeError when no input
/// could be read.
VisitorsReport run_visitors(const VisitorsOptions& options);

}  // namespace agegender
