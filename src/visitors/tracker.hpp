#pragma once
// Multi-object face tracking for one camera, SORT/ByteTrack style and plain C++: each track predicts its
// box with a constant-velocity model of its centre and a smoothed size (not extrapolated: a face half
// hidden by a pillar gets a shrunken box, and extrapolating that shrinkage lost it), detections are
// associated greedily by a cost mixing IoU and centre distance (confident detections first, weak ones only
// to tracks that already exist) where the faces' descriptors agree (DeepSORT's appearance gate), a track
// counts once it has been matched `confirm_frames` times, and it may go unseen for `max_missed` processed
// frames (occlusion, a missed detection, a crossing) before it ends.
#include <cstddef>
#include <vector>

namespace agegender {

struct BoxF {
  float x = 0, y = 0, w = 0, h = 0;
  float cx() const { return x + w / 2; }
  float cy() const { return y + h / 2; }
};
float box_iou(const BoxF& a, const BoxF& b);

struct TrackDetection {
  BoxF box;
  float score = 1;
  /// Optional appearance: the face's descriptor (face-api's 128-d). When a detection and a track both
  /// have one, it must lie within TrackerOptions::max_look_distance of the track's last or surest one.
  std::vector<float> look;
};

struct TrackerOptions {
  float high_score = 0.5f;  // detections at or above start tracks and associate first
  float min_iou = 0.3f;     // association gate on IoU with the predicted box ...
  float max_centre = 0.35f; // ... or centre distance / box side below this (fast, small faces)
  float weak_iou = 0.5f;    // gate for detections below high_score (IoU only)
  float first_centre = 1.0f; // centre gate of a track matched once: its velocity is not known yet, and a
                             // small face walking by moves more than a third of its side per frame
  // Appearance gate on every pair (when looks are given): Euclidean distance to the track's last or surest
  // look. Tighter than face-api's same-person 0.6: a track that takes someone else's face (paths crossing,
  // a face stepping in where a vanished one would be) mixes two people for good, while a walk broken
  // where the look changes (a face half behind a pillar) is rejoined by stitching. On four generated days
  // gating only ambiguous or coasting pairs left 28 same-person pairs apart, gating all at 0.45 left 6.
  float max_look_distance = 0.45f;
  float max_grow = 1.35f;   // a track seen twice takes no face more than this times its largest so far: a
                            // face grows smoothly as it walks; a jump is a nearer face stepping over it
                            // (shrinking is bounded only by the 0.5x gate on the predicted size: a face
                            // half hidden by a pillar keeps its track)
  int confirm_frames = 3;   // K matches before a track counts
  int max_missed = 8;       // processed frames a confirmed track may go unseen before it ends
  int tentative_missed = 2; // ... and an unconfirmed one (small faces are found in every other frame)
};

struct TrackEnd {
  int id = 0;
  bool confirmed = false;
  int hits = 0;
  long first_frame = 0, last_frame = 0;  // frames of its first and last matched detection
};

class Tracker {
 public:
  explicit Tracker(const TrackerOptions& options = {});
  /// One processed frame (frame numbers increase; gaps are allowed, e.g. --every 2). Returns, for each
  /// detection, the id of the track it now belongs to, or -1 (a weak detection that matched no track).
  std::vector<int> update(long frame, const std::vector<TrackDetection>& detections);
  /// Tracks that ended since the last call (all remaining ones after finish()), in id order.
  std::vector<TrackEnd> take_ended();
  /// Ends every live track (end of a video).
  void finish();
  size_t live() const { return tracks_.size(); }
  /// The box a live track predicts for `frame` (tests, annotation); false when `id` is not live.
  bool predicted(int id, long frame, BoxF* box) const;

 private:
  struct Track {
    int id = 0;
    BoxF box;                      // last matched box
    float vx = 0, vy = 0;          // centre velocity, pixels per frame
    float side = 0;                // smoothed box side: the predicted box's size
    float peak_side = 0;           // its largest matched box side
    long first_frame = 0, last_frame = 0;
    int hits = 0, missed = 0;      // matches; processed frames unseen in a row
    std::vector<float> look;       // the last matched detection's appearance ...
    std::vector<float> sure_look;  // ... and that of its highest-scoring one (a face half hidden by a
    float sure_score = -1;         // shelf or pillar looks unlike the whole face that comes out behind it)
  };
  BoxF predict(const Track& t, long frame) const;
  bool looks_alike(const std::vector<float>& a, const std::vector<float>& b) const;
  void associate(long frame, const std::vector<TrackDetection>& dets, bool strong, std::vector<bool>& track_used,
                 std::vector<int>& out);
  void end(size_t index);

  TrackerOptions o_;
  std::vector<Track> tracks_;
  std::vector<TrackEnd> ended_;
  int next_id_ = 1;
  std::vector<std::pair<size_t, size_t>> matches_;  // scratch: (track index, detection index)
};

}  // namespace agegender
