#pragma once
// Boxes and "F 20-29 (0.81)" labels drawn on images/frames for --annotate.
#include <opencv2/core.hpp>
#include <vector>

#include "predict/result_writer.hpp"

namespace agegender {

/// Draws every successful row's box and label onto `img` (rows of one image or frame).
void draw_predictions(cv::Mat& img, const std::vector<PredictionRow>& rows);

}  // namespace agegender
