// `prepare` of a build without OpenCV (AGEGENDER_WITH_OPENCV=OFF): it cannot decode images.
#include "agegender/error.hpp"
#include "agegender/prepare.hpp"

namespace agegender {
PrepareReport prepare_dataset(const PrepareOptions&) {
  throw UsageError("prepare needs OpenCV to decode images; this agegender was built with AGEGENDER_WITH_OPENCV=OFF. "
                   "Prepare on a machine with OpenCV and copy the output directory here.");
}
}  // namespace agegender
