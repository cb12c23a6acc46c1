#include "agegender/image_decode.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace agegender {
namespace {

// libjpeg fills a truncated JPEG with grey and only warns; a missing end-of-image marker catches that.
bool jpeg_truncated(std::string_view b) {
  if (b.size() < 4 || static_cast<unsigned char>(b[0]) != 0xFF || static_cast<unsigned char>(b[1]) != 0xD8) {
    return false;  // not a JPEG
  }
  size_t end = b.size();
  while (end > 2 && b[end - 1] == '\0') --end;  // some writers pad with zeros
  return !(static_cast<unsigned char>(b[end - 2]) == 0xFF && static_cast<unsigned char>(b[end - 1]) == 0xD9);
}

}  // namespace

bool decode_bgr(std::string_view bytes, cv::Mat* out, std::string* error) {
  if (bytes.empty()) {
    *error = "empty file";
    return false;
  }
  if (jpeg_truncated(bytes)) {
    *error = "truncated JPEG (no end-of-image marker)";
    return false;
  }
  try {
    const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    *out = cv::imdecode(raw, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    *error = std::string("cannot decode image: ") + e.what();
    return false;
  }
  if (out->empty()) {
    *error = "cannot decode image (not a supported image format, or corrupt)";
    return false;
  }
  return true;
}

void bgr_to_rgb_square(const cv::Mat& bgr, int size, uint8_t* out) {
  cv::Mat dst(size, size, CV_8UC3, out);  // wraps the caller's buffer: no copy
  cv::Mat resized;
  const bool shrink = bgr.cols > size || bgr.rows > size;
  cv::resize(bgr, resized, cv::Size(size, size), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::cvtColor(resized, dst, cv::COLOR_BGR2RGB);
}

bool decode_square_rgb(std::string_view bytes, int size, uint8_t* out, std::string* error) {
  cv::Mat img;
  if (!decode_bgr(bytes, &img, error)) return false;
  const int side = std::min(img.cols, img.rows);
  bgr_to_rgb_square(img(cv::Rect((img.cols - side) / 2, (img.rows - side) / 2, side, side)), size, out);
  return true;
}

}  // namespace agegender
