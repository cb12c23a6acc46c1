#pragma once
// What tracking sees of a day, frame by frame: each face's box, detector score, age/gender probabilities
// and descriptor. `visitors --record-evidence FILE` writes it; `visitors --input FILE.agev` replays it
// through tracking, stitching and clustering without decoding, detecting or running a network (seconds per
// day instead of minutes), so tracker changes can be scored on many generated days. The file holds face
// descriptors (biometric data): it is written only when asked. Plain C++.
#include <cstdio>
#include <string>
#include <vector>

#include "visitors/tracker.hpp"

namespace agegender {

inline constexpr const char* kEvidenceExtension = ".agev";

struct FaceEvidence {
  BoxF box;
  float score = 0;
  std::vector<float> age_probs;  // empty when the model has no age head
  float female_prob = -1;        // -1: no gender head
  float age = -1;                // a year head's expected age before the age calibration; -1: none
  std::vector<float> descriptor;
};

struct FrameEvidence {
  long frame = 0;      // -1: an input that could not be read at all
  bool error = false;  // the frame could not be decoded or searched
  std::vector<FaceEvidence> faces;
};

/// Receives a day camera by camera (run_visitors' consumer, or a replay).
class EvidenceSink {
 public:
  virtual ~EvidenceSink() = default;
  virtual void start_camera(const std::string& name, double fps) = 0;
  virtual void track_frame(const FrameEvidence& frame) = 0;
  virtual void end_camera() = 0;
};

/// Writes FILE.tmp and renames it to FILE on commit() (a run that fails leaves no partial file).
class EvidenceWriter {
 public:
  /// `age_groups`: the model's class names (a replay must use a model with the same ones).
  EvidenceWriter(const std::string& path, const std::vector<std::string>& age_groups);
  ~EvidenceWriter();
  EvidenceWriter(const EvidenceWriter&) = delete;
  EvidenceWriter& operator=(const EvidenceWriter&) = delete;
  void start_camera(const std::string& name, double fps);
  void frame(const FrameEvidence& f);
  void end_camera();
  void commit();

 private:
  void put(const void* p, size_t n);
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

/// Replays FILE into `sink`; returns the number of frames. Throws RuntimeError naming the file when it
/// is not an evidence file, is truncated, or was recorded with other age groups than `age_groups`.
size_t replay_evidence(const std::string& path, const std::vector<std::string>& age_groups, EvidenceSink& sink);

}  // namespace agegender
