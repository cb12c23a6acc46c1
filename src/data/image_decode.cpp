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

bool decode_square_rgb(std::string_view bytes, int size, uint8_t* out, std::string* error) {
  if (bytes.empty()) {
    *error = "empty file";
    return false;
  }
  if (jpeg_truncated(bytes)) {
    *error = "truncated JPEG (no end-of-image marker)";
    return false;
  }
  cv::Mat img;
  try {
    const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    img = cv::imdecode(raw, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    *error = std::string("cannot decode image: ") + e.what();
    return false;
  }
  if (img.empty()) {
    *error = "cannot decode image (not a supported image format, or corrupt)";
    return false;
  }
  const int side = std::min(img.cols, img.rows);
  const cv::Mat square = img(cv::Rect((img.cols - side) / 2, (img.rows - side) / 2, side, side));
  cv::Mat dst(size, size, CV_8UC3, out);  // wraps the caller's buffer: no copy
  cv::Mat resized;
  cv::resize(square, resized, cv::Size(size, size), 0, 0, side > size ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::cvtColor(resized, dst, cv::COLOR_BGR2RGB);
  return true;
}

}  // namespace agegender
