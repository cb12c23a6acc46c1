#pragma once
// --annotate: boxes and "F 20-29 (0.81)" labels drawn on images/frames, and where they may be written.
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "vision/inputs.hpp"
#include "predict/result_writer.hpp"

namespace agegender {

/// Draws every successful row's box and label onto `img` (rows of one image or frame).
void draw_predictions(cv::Mat& img, const std::vector<PredictionRow>& rows);

/// Where the annotated copy of a still image goes: its path below the input folder, under `root`.
std::filesystem::path annotated_path(const std::string& root, const PredictInput& still);

/// Refuses (UsageError, before anything is written) an --annotate target that is not a folder for
/// images or a file for one video, or that would overwrite an input: the input folder itself (under any
/// path or symlink), or an annotated path that is an input file (same inode: symlinks, hard links).
void check_annotate_target(const std::string& annotate, const std::string& input, const std::vector<PredictInput>& inputs);

}  // namespace agegender
