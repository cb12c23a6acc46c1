#include "agegender/image_decode.hpp"

#include <turbojpeg.h>

#include <limits>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/image_header.hpp"

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

bool too_large(int64_t width, int64_t height, int64_t max_pixels, std::string* error) {
  const std::string over = pixels_over_cap(width, height, max_pixels);
  if (!over.empty()) *error = "image is " + over;
  return !over.empty();
}

// One TurboJPEG decompressor per thread (cheap to keep, not thread-safe to share).
tjhandle jpeg_handle() {
  thread_local std::unique_ptr<void, int (*)(tjhandle)> h(tjInitDecompress(), tjDestroy);
  if (!h) throw std::runtime_error(std::string("cannot initialise TurboJPEG: ") + tjGetErrorStr2(nullptr));
  return h.get();
}

// What cv::imdecode does with EXIF orientation (its ApplyExifOrientation), so pixels match OpenCV's.
void apply_exif_orientation(int orientation, cv::Mat& img) {
  if (orientation >= 5) cv::transpose(img, img);
  switch (orientation) {
    case 2: case 6: cv::flip(img, img, 1); break;
    case 3: case 7: cv::flip(img, img, -1); break;
    case 4: case 8: cv::flip(img, img, 0); break;
    default: break;
  }
}

// TurboJPEG rather than cv::imdecode: the header gives the size before any pixel memory exists, and
// TJFLAG_STOPONWARNING turns libjpeg's warnings (premature end of data, corrupt entropy data), which
// OpenCV ignores, into errors. Same libjpeg-turbo underneath: identical pixels, same speed.
bool decode_jpeg(std::string_view b, int64_t max_pixels, cv::Mat* out, std::string* error) {
  const tjhandle tj = jpeg_handle();
  const auto* data = reinterpret_cast<const unsigned char*>(b.data());
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data, b.size(), &w, &h, &subsampling, &colorspace) != 0) {
    *error = std::string("cannot read the JPEG header: ") + tjGetErrorStr2(tj);
    return false;
  }
  if (too_large(w, h, max_pixels, error)) return false;
  const bool cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
  // TurboJPEG cannot convert CMYK to BGR: it only validates those, and OpenCV converts (size already checked).
  cv::Mat px(h, w, cmyk ? CV_8UC4 : CV_8UC3);
  if (tjDecompress2(tj, data, b.size(), px.data, w, 0, h, cmyk ? TJPF_CMYK : TJPF_BGR, TJFLAG_STOPONWARNING) != 0) {
    *error = std::string("corrupt JPEG: ") + tjGetErrorStr2(tj);
    return false;
  }
  if (cmyk) {
    const cv::Mat raw(1, static_cast<int>(b.size()), CV_8UC1, const_cast<char*>(b.data()));
    *out = cv::imdecode(raw, cv::IMREAD_COLOR);
    if (out->empty()) *error = "cannot decode CMYK JPEG";
    return !out->empty();
  }
  apply_exif_orientation(jpeg_exif_orientation(b), px);
  *out = px;
  return true;
}

bool decode_checked(std::string_view bytes, int64_t max_pixels, cv::Mat* out, std::string* error) {
  if (bytes.empty()) {
    *error = "empty file";
    return false;
  }
  if (jpeg_truncated(bytes)) {
    *error = "truncated JPEG (no end-of-image marker)";
    return false;
  }
  ImageHeader h;
  if (!read_image_header(bytes, &h, error)) {
    *error = "cannot decode image: " + *error;
    return false;
  }
  if (h.format == ImageFormat::Jpeg) return decode_jpeg(bytes, max_pixels, out, error);
  // PNG, BMP, WebP, TIFF: OpenCV decodes, after the size its header claims has passed the cap.
  if (too_large(h.width, h.height, max_pixels, error)) return false;
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  *out = cv::imdecode(raw, cv::IMREAD_COLOR);
  if (out->empty()) {
    *error = "cannot decode image (corrupt or unsupported variant of its format)";
    return false;
  }
  return !too_large(out->cols, out->rows, max_pixels, error);  // in case the decoder saw other dimensions
}

}  // namespace

bool decode_bgr(std::string_view bytes, cv::Mat* out, std::string* error, int64_t max_pixels) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    *error = "file too large (" + std::to_string(bytes.size()) + " bytes)";
    return false;
  }
  try {  // any failure (cv::Exception, bad_alloc) is this image's error, never the run's
    return decode_checked(bytes, max_pixels, out, error);
  } catch (const std::exception& e) {
    *error = std::string("cannot decode image: ") + e.what();
  } catch (...) {
    *error = "cannot decode image: unknown error";
  }
  out->release();
  return false;
}

void bgr_to_rgb_square(const cv::Mat& bgr, int size, uint8_t* out) {
  cv::Mat dst(size, size, CV_8UC3, out);  // wraps the caller's buffer: no copy
  cv::Mat resized;
  const bool shrink = bgr.cols > size || bgr.rows > size;
  cv::resize(bgr, resized, cv::Size(size, size), 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::cvtColor(resized, dst, cv::COLOR_BGR2RGB);
}

void center_square_rgb(const cv::Mat& bgr, int size, uint8_t* out) {
  const int side = std::min(bgr.cols, bgr.rows);
  bgr_to_rgb_square(bgr(cv::Rect((bgr.cols - side) / 2, (bgr.rows - side) / 2, side, side)), size, out);
}

bool decode_square_rgb(std::string_view bytes, int size, uint8_t* out, std::string* error, int64_t max_pixels) {
  cv::Mat img;
  if (!decode_bgr(bytes, &img, error, max_pixels)) return false;
  center_square_rgb(img, size, out);
  return true;
}

}  // namespace agegender
