// `embed` of a build without OpenCV: it cannot decode images or video.
#include "agegender/embedder.hpp"
#include "agegender/error.hpp"

namespace agegender {
EmbedReport run_embed(const EmbedOptions&) {
  throw UsageError("embed needs OpenCV to decode images and video; this agegender was built with "
                   "AGEGENDER_WITH_OPENCV=OFF");
}
}  // namespace agegender
