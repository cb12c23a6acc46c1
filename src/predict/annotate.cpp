#include "predict/annotate.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <set>

#include "agegender/error.hpp"

namespace agegender {
namespace fs = std::filesystem;

void draw_predictions(cv::Mat& img, const std::vector<PredictionRow>& rows) {
  const int thick = std::max(1, std::min(img.cols, img.rows) / 300);
  const double font = std::max(0.4, std::min(img.cols, img.rows) / 800.0);
  for (const auto& r : rows) {
    if (!r.error.empty()) continue;
    const cv::Scalar color = r.gender == "female" ? cv::Scalar(180, 80, 255) : cv::Scalar(255, 160, 40);
    cv::rectangle(img, cv::Rect(r.x, r.y, r.w, r.h), color, thick, cv::LINE_AA);
    char label[96];
    std::snprintf(label, sizeof label, "%s %s (%.2f)", r.gender.empty() ? "?" : (r.gender == "female" ? "F" : "M"),
                  r.age_group.c_str(), r.age_prob);
    int base = 0;
    const cv::Size ts = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, font, thick, &base);
    const cv::Point org(std::max(0, r.x), std::max(ts.height + 4, r.y - 4));
    cv::rectangle(img, org + cv::Point(0, base), org + cv::Point(ts.width, -ts.height - 2), color, cv::FILLED);
    cv::putText(img, label, org, cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(0, 0, 0), thick, cv::LINE_AA);
  }
}

fs::path annotated_path(const std::string& root, const PredictInput& still) {
  fs::path dst = fs::path(root) / still.relative;
  if (!is_image_path(dst.string())) dst += ".jpg";
  return dst;
}

void check_annotate_target(const std::string& annotate, const std::string& input, const std::vector<PredictInput>& inputs) {
  if (annotate.empty()) return;
  const bool video = inputs.size() == 1 && inputs[0].video;
  if (!video && std::any_of(inputs.begin(), inputs.end(), [](const PredictInput& in) { return in.video; })) {
    throw UsageError("--annotate FILE works for one video input; annotate folders of images into a directory");
  }
  std::error_code ec;
  if (video && fs::is_directory(annotate, ec)) {
    throw UsageError("--annotate " + annotate + " is a folder: a video input is annotated into a video file (e.g. out.mp4)");
  }
  if (!video && fs::exists(annotate, ec) && !fs::is_directory(annotate, ec)) {
    throw UsageError("--annotate " + annotate + " exists and is not a folder (annotated images go into a folder)");
  }
  if (!video && fs::is_directory(input, ec) && fs::exists(annotate, ec) && fs::equivalent(annotate, input, ec)) {
    throw UsageError("--annotate " + annotate + " is the input folder " + input +
                     ": annotated images would overwrite the inputs; choose another folder");
  }
  // Same inode = same file, whatever path, symlink or hard link leads to it.
  auto id = [](const fs::path& p, std::pair<dev_t, ino_t>* out) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return false;
    *out = {st.st_dev, st.st_ino};
    return true;
  };
  std::set<std::pair<dev_t, ino_t>> input_ids;
  for (const auto& in : inputs) {
    std::pair<dev_t, ino_t> i;
    if (id(in.path, &i)) input_ids.insert(i);
  }
  for (const auto& in : inputs) {
    const fs::path dst = video ? fs::path(annotate) : annotated_path(annotate, in);
    std::pair<dev_t, ino_t> d;
    if (id(dst, &d) && input_ids.count(d)) {
      throw UsageError("--annotate " + annotate + ": the annotated copy of " + in.path + " would overwrite the input " +
                       dst.string() + "; choose a folder outside the inputs");
    }
  }
}

}  // namespace agegender
