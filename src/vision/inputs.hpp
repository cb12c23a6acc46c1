#pragma once
// What `predict --input` names: one image, one video, or a folder of them (recursive, sorted).
#include <string>
#include <vector>

namespace agegender {

struct PredictInput {
  std::string path;
  std::string relative;  // path below the input folder (for mirrored annotation output)
  bool video = false;
  std::string error;  // set for a folder entry that cannot be read (symlink loop, dangling link): an error row
};

bool is_image_path(const std::string& path);
bool is_video_path(const std::string& path);
/// Throws UsageError when the path does not exist or a folder holds no image or video. Broken links with
/// an image or video name come back with `error` set; other unreadable entries are logged as warnings.
std::vector<PredictInput> list_predict_inputs(const std::string& input);

}  // namespace agegender
