#include "predict/annotate.hpp"

#include <cstdio>
#include <opencv2/imgproc.hpp>

namespace agegender {

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

}  // namespace agegender
