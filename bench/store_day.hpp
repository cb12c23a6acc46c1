#pragma once
// A synthetic store day for `agegender visitors` tests and benchmarks. People are UTKFace test-split
// crops (read from the archive at run time, never stored; split exactly as `prepare` splits, seed 42)
// walking across camera views at 10 fps: face sizes 48-160 px growing or shrinking as they walk,
// brightness changes, partial occlusions by shelves, crossing paths, empty stretches; 20 % of people come
// back (on the other camera a few seconds later, or in the afternoon). Videos are written as
// videos/cam<C>_<YYYYMMDD-HHMMSS>.mp4, one per camera and segment of the day; truth.json says who walked where
// and when, with their age and gender. score_day() compares a `visitors` output folder with it.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace agegender::bench {

struct StoreDayOptions {
  std::string archive;      // UTKFace .tar.gz or folder
  std::string out;          // folder for the videos and truth.json
  int people = 20;
  double returning = 0.2;   // share of people seen twice
  int cameras = 2;
  int segments = 1;         // 1: 09:00 only; 2: 09:00 and 13:00 (returning visitors may come back then)
  int width = 1280, height = 720;
  double fps = 10;
  int min_face = 48, max_face = 160;
  double concurrency = 2.5;  // mean people in view per camera (1 and `easy`: one after another)
  bool easy = false;         // large faces, one person at a time, no occlusion, steady light
  unsigned seed = 1;
};

struct Appearance {
  int person = 0, camera = 0, segment = 0;
  std::string video;  // file name
  long first_frame = 0, last_frame = 0;
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0, s0 = 0, s1 = 0;  // face centre and side at the first and last frame
  /// Face centre at `frame` (linear walk).
  void centre(long frame, double* x, double* y) const;
};

struct StoreDayTruth {
  std::string start = "2026-11-28T09:00:00";
  std::vector<std::string> videos;
  std::vector<int> age, gender;  // per person
  std::vector<std::string> crop;   // per person: UTKFace file name
  std::vector<Appearance> appearances;
  double video_seconds = 0;
  nlohmann::json to_json() const;
  static StoreDayTruth from_json(const nlohmann::json& j);
};

/// Writes the videos and truth.json into `o.out`; returns the truth. Throws on a missing archive.
StoreDayTruth generate_store_day(const StoreDayOptions& o);

struct DayScore {
  size_t true_people = 0, visitors = 0, tracks = 0, matched_tracks = 0;
  size_t people_tracked = 0;          // people with at least one matched track (the count's ceiling)
  double count_error = 0;             // (visitors - true) / true
  double pair_precision = 0, pair_recall = 0;  // over matched track pairs: same visitor vs same person
  // Over walks (each walk's longest matched track): a walk broken into pieces counts once, so only
  // returning visitors make same-person pairs and fragments neither help nor hurt.
  double walk_precision = 0, walk_recall = 0;
  double true_female = 0, found_female = 0;    // shares
  double found_female_expected = -1;  // summary.json's gender_share_expected (-1: not there)
  double age_tv = 0;                  // total variation between age-group distributions (intuition groups)
  double age_tv_expected = -1;        // the same for summary.json's age_share_expected (-1: not there)
  double gender_accuracy = 0;         // matched visitors whose gender is right
  double judged_female = 0;           // the true female share of those visitors' people (who the day counted)
  double age_mae[3] = {-1, -1, -1};   // visitors.csv's age against their people's: all, 0-12, 60+ (-1: none)
  nlohmann::json to_json() const;
};

/// Reads `out_dir`/tracks.csv and visitors.csv (as `agegender visitors` wrote them) and scores them.
DayScore score_day(const std::string& out_dir, const StoreDayTruth& truth);

/// Per row of a `visitors` tracks.csv: the walk (index into truth.appearances) it is, i.e. the walk on its
/// video whose path passes closest to the track's first and last face centre, or -1; that walk's
/// person, or -1; and the track's frames.
struct TrackTruth {
  std::vector<int> walks, persons, frames;
};
TrackTruth match_walks(const std::vector<std::map<std::string, std::string>>& tracks, const StoreDayTruth& truth);

/// Pairwise precision and recall over walks: each walk takes the label of its longest matched track
/// (`frames` per track), pairs of walks of one person should share a label.
void walk_pair_scores(const std::vector<int>& labels, const std::vector<int>& walks, const std::vector<int>& frames,
                      const StoreDayTruth& truth, double* precision, double* recall);

/// Pairwise precision and recall of `labels` (one per matched track) against `persons`.
void pair_scores(const std::vector<int>& labels, const std::vector<int>& persons, double* precision, double* recall);

/// Re-clusters the tracks of a run made with --keep-descriptors at each same-person threshold: visitors,
/// count error, pairwise precision and recall per threshold (how the default was chosen).
nlohmann::json sweep_same_person(const std::string& out_dir, const StoreDayTruth& truth, const std::vector<double>& thresholds);

}  // namespace agegender::bench
