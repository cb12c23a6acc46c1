// The OpenCV-only build (AGEGENDER_WITH_TORCH=OFF): face-api's detectors and landmark nets run on LibTorch.
#include "agegender/error.hpp"
#include "agegender/face_networks.hpp"

namespace agegender {
namespace {

[[noreturn]] void needs_torch(const std::string& what) {
  throw UsageError(what + " needs LibTorch; this agegender was built with AGEGENDER_WITH_TORCH=OFF "
                          "(use --detect haar or none, and --align off)");
}

}  // namespace

struct FaceDetectorNet::Impl {
  FaceDetectorOptions options;
};
FaceDetectorNet::FaceDetectorNet(Kind kind, const std::string&, const FaceDetectorOptions&) {
  needs_torch(kind == Kind::Ssd ? "--detect ssd" : "--detect tiny");
}
FaceDetectorNet::~FaceDetectorNet() = default;
std::vector<FaceBox> FaceDetectorNet::detect(const RgbView&) { return {}; }
FaceDetectorNet::Kind FaceDetectorNet::kind() const { return Kind::Ssd; }
const FaceDetectorOptions& FaceDetectorNet::options() const { return impl_->options; }

struct LandmarkNet::Impl {};
LandmarkNet::LandmarkNet(bool, const std::string&, const std::string&) { needs_torch("face alignment and --landmarks (the landmark net)"); }
LandmarkNet::~LandmarkNet() = default;
std::vector<FacePoint> LandmarkNet::landmarks(const RgbView&) { return {}; }
std::vector<std::vector<FacePoint>> LandmarkNet::landmarks(const std::vector<RgbView>&) { return {}; }
bool LandmarkNet::tiny() const { return false; }

}  // namespace agegender
