// `predict` of a build without OpenCV: it cannot decode images or video.
#include "agegender/error.hpp"
#include "agegender/predictor.hpp"

namespace agegender {
PredictReport run_predict(const PredictOptions&) {
  throw UsageError("predict needs OpenCV to decode images and video; this agegender was built with "
                   "AGEGENDER_WITH_OPENCV=OFF");
}
}  // namespace agegender
