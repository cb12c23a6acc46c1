// predict's OpenCV DNN engine: an exported .onnx (no LibTorch), decoded the way TorchEngine decodes heads.
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "agegender/error.hpp"
#include "agegender/onnx_model.hpp"
#include "predict/face_engine.hpp"

namespace agegender {
namespace {

// The horizontal mirror of n faces (n x C x S x S), for test-time augmentation.
std::vector<float> flip_faces(const float* x, int64_t n, const ModelInput& in) {
  const int64_t s = in.size, rows = n * in.channels * s;
  std::vector<float> out(static_cast<size_t>(rows * s));
  for (int64_t r = 0; r < rows; ++r) std::reverse_copy(x + r * s, x + (r + 1) * s, out.begin() + r * s);
  return out;
}


class OpenCvEngine : public FaceEngine {
 public:
  explicit OpenCvEngine(const std::string& path) : info_(read_onnx_model_info(path)) {
    try {
      net_ = cv::dnn::readNetFromONNX(path);
    } catch (const cv::Exception& e) {
      throw RuntimeError(path + ": OpenCV DNN cannot load it: " + e.what());
    }
    net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    if (info_.has_age_probs) outputs_.push_back(kOnnxAgeProbs);
    if (info_.has_gender_probs) outputs_.push_back(kOnnxGenderProbs);
    if (info_.has_age) outputs_.push_back(kOnnxAge);
  }

  const ModelInput& input() const override { return info_.input; }
  const std::vector<std::string>& class_names() const override { return info_.class_names; }

  void run(const float* x, int64_t n, bool tta, EngineOutput& out) override {
    // A fixed-batch export runs `batch` faces at a time.
    const int64_t step = info_.dynamic_batch ? n : info_.batch;
    const int64_t face = static_cast<int64_t>(info_.input.channels) * info_.input.size * info_.input.size;
    std::vector<float> flipped;
    if (tta) flipped = flip_faces(x, n, info_.input);
    for (int64_t start = 0; start < n; start += step) {
      const int64_t m = std::min(step, n - start);
      Heads h = forward(x + start * face, m);
      if (tta) h.average(forward(flipped.data() + start * face, m), info_.age_calibration);
      append(h, m, out);
    }
  }

 private:
  struct Heads {
    cv::Mat age_probs, gender_probs, age;  // [m, K], [m, 2], [m, 1]
    // Probabilities are averaged; so are the ages, before the graph's age calibration (undone here), as
    // the LibTorch engine averages the year distributions and calibrates their mean.
    void average(const Heads& o, const AgeCalibration& c) {
      for (auto [a, b] : {std::pair{&age_probs, &o.age_probs}, {&gender_probs, &o.gender_probs}}) {
        if (!a->empty()) *a = (*a + *b) * 0.5;
      }
      if (age.empty()) return;
      for (int i = 0; i < age.rows; ++i) {
        float& x = age.at<float>(i, 0);
        x = static_cast<float>(c.apply((c.invert(x) + c.invert(o.age.at<float>(i, 0))) * 0.5));
      }
    }
  };

  Heads forward(const float* x, int64_t m) {
    const int sizes[] = {static_cast<int>(m), info_.input.channels, info_.input.size, info_.input.size};
    net_.setInput(cv::Mat(4, sizes, CV_32F, const_cast<float*>(x)), kOnnxInput);
    std::vector<cv::Mat> outs;
    try {
      net_.forward(outs, outputs_);
    } catch (const cv::Exception& e) {
      throw RuntimeError(info_.path + ": OpenCV DNN failed to run it: " + e.what());
    }
    Heads h;
    for (size_t i = 0; i < outputs_.size(); ++i) {
      const cv::Mat rows = outs[i].reshape(1, static_cast<int>(m)).clone();  // outputs are reused by the next forward
      if (outputs_[i] == kOnnxAgeProbs) h.age_probs = rows;
      if (outputs_[i] == kOnnxGenderProbs) h.gender_probs = rows;
      if (outputs_[i] == kOnnxAge) h.age = rows;
    }
    return h;
  }

  // Rows into `out`; a bins head's expected age over the class mean ages (HeadDecoder's rule).
  void append(const Heads& h, int64_t m, EngineOutput& out) const {
    const size_t k = info_.class_names.size();
    for (int64_t i = 0; i < m; ++i) {
      const int r = static_cast<int>(i);
      if (!h.age_probs.empty()) {
        const float* p = h.age_probs.ptr<float>(r);
        out.age_probs.insert(out.age_probs.end(), p, p + k);
        if (!h.age.empty()) {
          out.ages.push_back(h.age.at<float>(r, 0));
        } else {
          double e = 0;
          for (size_t c = 0; c < k; ++c) e += p[c] * info_.class_mean_age[c];
          out.ages.push_back(static_cast<float>(e));
        }
      }
      if (!h.gender_probs.empty()) out.female_probs.push_back(h.gender_probs.at<float>(r, 1));
    }
  }

  OnnxModelInfo info_;
  cv::dnn::Net net_;
  std::vector<cv::String> outputs_;
};

}  // namespace

std::unique_ptr<FaceEngine> make_opencv_engine(const std::string& model, int threads) {
  cv::setNumThreads(threads);
  return std::make_unique<OpenCvEngine>(model);
}

}  // namespace agegender
