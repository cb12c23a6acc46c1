// `visitors` of a build without OpenCV: it cannot decode video or find faces.
#include "agegender/error.hpp"
#include "agegender/visitors.hpp"

namespace agegender {
VisitorsReport run_visitors(const VisitorsOptions&) {
  throw UsageError("visitors needs OpenCV to decode video and find faces; this agegender was built with "
                   "AGEGENDER_WITH_OPENCV=OFF");
}
}  // namespace agegender
