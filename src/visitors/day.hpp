#pragma once
// The day's records, torch-free: what a track becomes when it ends (fused age/gender, entry, descriptor),
// how tracks become visitors and visits, the day's clock, the --line / --roi entry rule and summary.json.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "visitors/tracker.hpp"

namespace agegender {

/// Age/gender probabilities of one track fused over its frames, each frame weighted by its detection
/// score and face size (a small, doubtful face says less than a large, sure one).
class TrackFusion {
 public:
  explicit TrackFusion(size_t age_classes = 0) : age_(age_classes, 0.0) {}
  /// `age_probs`: one value per class (may be null when the model has no age head); `female_prob` < 0
  /// when it has no gender head; `age` < 0 when the model has no year head (the age then comes from the
  /// groups' probabilities). `side`: face box side in pixels.
  void add(const float* age_probs, float female_prob, float score, float side, double age = -1);
  static double frame_weight(float score, float side);
  std::vector<float> age_probs() const;  // weighted mean; empty without an age head
  float female_prob() const;             // weighted mean; -1 without a gender head
  double age() const;                    // weighted mean of the frames' ages; -1 without them
  double weight() const { return weight_; }
  int frames() const { return frames_; }

 private:
  std::vector<double> age_;
  double female_ = 0, weight_ = 0, years_ = 0, years_weight_ = 0;  // years_: sum of weighted ages
  bool gender_ = false;
  int frames_ = 0;
};

/// --line x1,y1,x2,y2: an entry is a track whose face centre crosses the segment from its left to its
/// right side (image coordinates, y down: for a line drawn left to right, moving down across it);
/// --roi x,y,w,h: an entry is a track whose face centre is inside the rectangle in at least one frame.
class EntryRule {
 public:
  EntryRule() = default;
  /// Throws UsageError naming the flag when the value is malformed. At most one of them may be set.
  static EntryRule parse(const std::string& line, const std::string& roi);
  bool active() const { return kind_ != Kind::None; }
  /// Feeds one face centre of a track; true once the track has entered.
  bool step(bool already, bool has_prev, float px, float py, float x, float y) const;
  nlohmann::json to_json() const;

 private:
  enum class Kind { None, Line, Roi } kind_ = Kind::None;
  float v_[4] = {0, 0, 0, 0};
};

/// The day's clock: --start (ISO 8601 local time, no zone) or a time stamp in the file name
/// (YYYYMMDD[T_-]HHMMSS or YYYY-MM-DDTHH-MM-SS) places a video; without either, times are offsets.
struct DayClock {
  bool absolute = false;
  long long start = 0;  // seconds since 1970 of --start (UTC arithmetic on the naive local time)
  /// Throws UsageError naming --start when malformed; "" = offsets.
  static DayClock parse(const std::string& start);
  /// A video's start (seconds on this clock): the stamp in its name when it has one, else --start / 0.
  double video_start(const std::string& path) const;
  /// "2026-11-28T09:15:02" when absolute, else "+0:15:02" (offset from the first frame).
  std::string format(double t) const;
  /// "2026-11-28T09" when absolute, else "+0h" / "+1h" ... (hour bucket label).
  std::string hour(double t) const;
};

/// A face centre and box width at one matched detection of a track.
struct TrackPoint {
  double time = 0;  // on the day's clock
  float x = 0, y = 0, side = 0;
};

struct TrackRecord {
  int id = 0;        // 1.. over the whole day
  int camera = 0;    // index of the video or frames folder
  std::string video;
  long first_frame = 0, last_frame = 0;
  int frames = 0;    // frames with a matched detection
  double first_time = 0, last_time = 0;  // on the day's clock
  float first_x = 0, first_y = 0, last_x = 0, last_y = 0;  // face centre at the first and last detection
  float first_side = 0, last_side = 0;                      // face box width there
  std::vector<float> age_probs;
  float female_prob = -1;
  double age = -1;    // year heads: the frames' (calibrated) expected ages fused; -1: from age_probs
  double weight = 0;  // sum of frame weights (how much evidence the fused answer has)
  bool entered = true;  // --line / --roi (true without either)
  std::vector<float> descriptor;  // mean of the best frames' descriptors (memory only)
  // Every matched detection, in time order: stitching compares pieces where they were seen together.
  // Kept only until the camera's tracks are stitched (24 bytes a detection), then dropped.
  std::vector<TrackPoint> path;
  int visitor = -1;
};

struct VisitorRecord {
  int id = 0;
  std::vector<size_t> tracks;  // indices into the day's tracks, by time
  double first_time = 0, last_time = 0;
  int visits = 0;
  std::vector<float> age_probs;
  float female_prob = -1;
  double age = -1;  // as TrackRecord::age
};

/// Groups tracks by visitor label into visitors (numbered by first appearance). A visitor's tracks
/// more than `visit_gap` seconds after the end of the previous visit start a new visit.
std::vector<VisitorRecord> make_visitors(std::vector<TrackRecord>& tracks, const std::vector<int>& labels,
                                         double visit_gap);

/// Age group (argmax) and its probability; the age is `age` when >= 0 (a year head's), else the
/// expected age from the class mean ages.
struct AgeAnswer {
  std::string group;
  float prob = 0;
  double age = 0;
};
AgeAnswer age_answer(const std::vector<float>& probs, const std::vector<std::string>& names,
                     const std::vector<double>& class_mean_age, double age = -1);
std::string gender_answer(float female_prob);  // "female" / "male" / "" (no gender head)

struct DayInfo {
  std::vector<std::string> age_groups;
  std::vector<double> class_mean_age;
  std::vector<double> age_share_weights;  // the model's share calibration (share_calibration.hpp), may be empty
  std::vector<double> gender_share_weights;  // (male, female), likewise
  DayClock clock;
  EntryRule entries;
  nlohmann::json processing;  // frames, seconds, stages, ...
};

/// summary.json: unique visitors, returning visitors, per hour x age group x gender, overall shares,
/// entries, tracks, processing statistics.
nlohmann::json day_summary(const std::vector<TrackRecord>& tracks, const std::vector<VisitorRecord>& visitors,
                           const DayInfo& info);

}  // namespace agegender
