#include "vision/inputs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "agegender/dataset_source.hpp"
#include "agegender/error.hpp"

namespace agegender {
namespace fs = std::filesystem;
namespace {

std::string lower_ext(const std::string& path) {
  std::string e = fs::path(path).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

bool one_of(const std::string& e, std::initializer_list<const char*> list) {
  return std::any_of(list.begin(), list.end(), [&](const char* x) { return e == x; });
}

}  // namespace

bool is_image_path(const std::string& p) {
  return one_of(lower_ext(p), {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"});
}

bool is_video_path(const std::string& p) {
  return one_of(lower_ext(p), {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"});
}

std::vector<PredictInput> list_predict_inputs(const std::string& input) {
  std::error_code ec;
  if (fs::is_regular_file(input, ec)) {
    return {{input, fs::path(input).filename().string(), is_video_path(input), ""}};
  }
  if (!fs::is_directory(input, ec)) throw UsageError("--input " + input + ": no such file or folder");
  std::vector<PredictInput> out;
  for (const FolderEntry& e : walk_folder(input)) {  // sorted; a symlink loop is an entry, not an abort
    const std::string p = e.path.string();
    const bool media = is_image_path(p) || is_video_path(p);
    if (!e.skip.empty() && !media) {
      spdlog::warn("--input: skipping {}: {}", p, e.skip);
    } else if (media) {  // a second name (hard link, symlink) of one file is predicted under each name
      out.push_back({p, e.relative, is_video_path(p), e.skip});
    }
  }
  if (out.empty()) {
    throw UsageError("--input " + input + ": no images (jpg, jpeg, png, bmp, webp, tif) or videos found in the folder");
  }
  return out;
}

}  // namespace agegender
