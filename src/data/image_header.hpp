#pragma once
// What an image file says about itself before anything is decoded: its format, its dimensions and (for
// JPEG) its EXIF orientation. A 6 KB file can claim 30000 x 30000 pixels, so decode_bgr checks the size
// here first. Only the formats whose headers are read here are decoded at all.
#include <cstdint>
#include <string>
#include <string_view>

namespace agegender {

enum class ImageFormat { Jpeg, Png, Bmp, WebP, Tiff };

struct ImageHeader {
  ImageFormat format = ImageFormat::Jpeg;
  int64_t width = 0, height = 0;  // 0 for JPEG: TurboJPEG reads those (image_decode.cpp)
};

/// Format from the magic bytes; width and height from the PNG IHDR, BMP info header, WebP VP8/VP8L/VP8X
/// chunk or the first TIFF directory. False with a reason for any other format or an unreadable header.
bool read_image_header(std::string_view bytes, ImageHeader* out, std::string* error);

/// EXIF orientation 1..8 from a JPEG's APP1 segment (1 when there is none or it is unreadable).
int jpeg_exif_orientation(std::string_view jpeg);

}  // namespace agegender
