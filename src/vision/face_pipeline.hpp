#pragma once
// The media side shared by predict, embed and visitors: list the inputs (image, folder, video), decode
// stills in parallel and video frames in order, find the faces, and hand them over in chunks, in input
// order. What a face becomes (model pixels, descriptor input) and what is written is the consumer's.
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "agegender/face_location.hpp"
#include "vision/face_detector.hpp"
#include "vision/inputs.hpp"

namespace agegender {

struct FacePipelineOptions {
  std::string input;
  const std::vector<PredictInput>* inputs = nullptr;  // already listed (else `input` is listed)
  DetectorOptions detector;
  int every = 1;  // video: every N-th frame
  int threads = 1;
  int64_t max_pixels = 0;
  bool keep_images = false;  // keep each decoded image/frame (annotation)
  bool quiet = false;
  std::string label = "Predict";  // progress lines
};

struct PipelineFace {
  cv::Rect box;       // FoundFace::box
  float score = 1;    // the detector's score
  std::vector<cv::Point2f> landmarks;  // 68 points in image pixels, when the landmark net ran
  std::vector<uint8_t> data;  // what FaceConsumer::prepare_face made of it

  /// The --landmarks output columns of this face.
  FaceLandmarks marks() const {
    FaceLandmarks m;
    m.score = score;
    for (const cv::Point2f& p : landmarks) m.xy.insert(m.xy.end(), {p.x, p.y});
    return m;
  }
};

struct PipelineItem {
  const PredictInput* input = nullptr;
  long frame = -1;  // -1 for still images
  cv::Mat image;    // only with keep_images
  std::vector<PipelineFace> faces;
  std::string error;  // unreadable input, no face found, ...
};

class FaceConsumer {
 public:
  virtual ~FaceConsumer() = default;
  /// Main thread, once inputs are listed and detectors loaded (so a usage error has written nothing):
  /// open the outputs.
  virtual void begin() {}
  /// Worker threads (must be thread-safe): the face's input to the consumer's network, made from
  /// `found.crop` (UTKFace framing, aligned when alignment is on) into `face.data`.
  virtual void prepare_face(const FoundFace& found, PipelineFace& face) const = 0;
  /// Main thread, in input order, one chunk at a time: run the network, write the rows (error rows for
  /// items whose `error` is set).
  virtual void consume(std::vector<PipelineItem>& items) = 0;
  /// Main thread, around each video's frames (e.g. an annotated video). `cap` is open.
  virtual void begin_video(const PredictInput&, cv::VideoCapture&) {}
  virtual void end_video() {}
};

struct PipelineReport {
  size_t inputs = 0, read_ok = 0;  // video frames count as inputs
  double seconds = 0;
  double decode_seconds = 0, detect_seconds = 0;  // reading + decoding, face detection (summed over threads)
};

/// Throws UsageError for a bad --input/--detect/--every. Inputs that can't be read become error items.
PipelineReport run_face_pipeline(const FacePipelineOptions& options, FaceConsumer& consumer);
/// RuntimeError when not one input could be read (after the consumer has written its error rows).
void throw_if_nothing_read(const PipelineReport& r);

}  // namespace agegender
