#include "data/image_header.hpp"

namespace agegender {
namespace {
using namespace std::literals;

// Bounds-checked reads: every offset comes from the (untrusted) file.
class Bytes {
 public:
  Bytes(std::string_view b, bool big_endian = false) : b_(b), be_(big_endian) {}
  bool has(uint64_t pos, uint64_t n) const { return pos <= b_.size() && n <= b_.size() - pos; }
  bool starts(uint64_t pos, std::string_view s) const { return has(pos, s.size()) && b_.compare(pos, s.size(), s) == 0; }
  uint32_t u8(uint64_t p) const { return static_cast<unsigned char>(b_[p]); }
  uint32_t u16(uint64_t p) const { return be_ ? (u8(p) << 8) | u8(p + 1) : u8(p) | (u8(p + 1) << 8); }
  uint32_t u24(uint64_t p) const { return u8(p) | (u8(p + 1) << 8) | (u8(p + 2) << 16); }  // WebP: little-endian
  uint32_t u32(uint64_t p) const { return be_ ? (u16(p) << 16) | u16(p + 2) : u16(p) | (u16(p + 2) << 16); }

 private:
  std::string_view b_;
  bool be_;
};

// One SHORT or LONG value of `tag` in the first directory of a TIFF structure (a .tif file or a JPEG's EXIF).
bool tiff_tag(std::string_view tiff, uint16_t tag, uint32_t* value) {
  if (tiff.size() < 8 || (tiff.compare(0, 2, "II") != 0 && tiff.compare(0, 2, "MM") != 0)) return false;
  const Bytes t(tiff, tiff[0] == 'M');
  if (t.u16(2) != 42) return false;
  const uint64_t ifd = t.u32(4);
  if (!t.has(ifd, 2)) return false;
  for (uint32_t i = 0, n = t.u16(ifd); i < n; ++i) {
    const uint64_t e = ifd + 2 + 12 * uint64_t{i};
    if (!t.has(e, 12)) return false;
    if (t.u16(e) != tag) continue;
    if (t.u32(e + 4) != 1) return false;  // count
    const uint32_t type = t.u16(e + 2);
    if (type == 3) *value = t.u16(e + 8);  // SHORT sits at the start of the value field in both byte orders
    else if (type == 4) *value = t.u32(e + 8);
    else return false;
    return true;
  }
  return false;
}

bool fail(std::string* error, const std::string& why) {
  *error = why;
  return false;
}

bool webp_size(const Bytes& b, ImageHeader* h, std::string* error) {
  if (b.starts(12, "VP8 "sv) && b.has(20, 10) && b.u8(23) == 0x9d && b.u8(24) == 0x01 && b.u8(25) == 0x2a) {
    h->width = b.u16(26) & 0x3fff;
    h->height = b.u16(28) & 0x3fff;
  } else if (b.starts(12, "VP8L"sv) && b.has(20, 5) && b.u8(20) == 0x2f) {
    const uint32_t bits = b.u32(21);
    h->width = (bits & 0x3fff) + 1;
    h->height = ((bits >> 14) & 0x3fff) + 1;
  } else if (b.starts(12, "VP8X"sv) && b.has(20, 10)) {
    h->width = int64_t{b.u24(24)} + 1;
    h->height = int64_t{b.u24(27)} + 1;
  } else {
    return fail(error, "cannot read the WebP header");
  }
  return true;
}

}  // namespace

bool read_image_header(std::string_view bytes, ImageHeader* h, std::string* error) {
  const Bytes le(bytes), be(bytes, true);
  if (le.starts(0, "\xff\xd8\xff"sv)) {
    h->format = ImageFormat::Jpeg;
    return true;
  }
  if (le.starts(0, "\x89PNG\r\n\x1a\n"sv)) {
    h->format = ImageFormat::Png;
    if (!be.starts(12, "IHDR"sv) || !be.has(16, 8)) return fail(error, "cannot read the PNG header (no IHDR chunk)");
    h->width = be.u32(16);
    h->height = be.u32(20);
  } else if (le.starts(0, "BM"sv)) {
    h->format = ImageFormat::Bmp;
    if (!le.has(14, 4)) return fail(error, "cannot read the BMP header");
    if (le.u32(14) == 12 && le.has(18, 4)) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
      h->width = le.u16(18);
      h->height = le.u16(20);
    } else if (le.u32(14) >= 16 && le.has(18, 8)) {
      h->width = static_cast<int32_t>(le.u32(18));
      h->height = static_cast<int32_t>(le.u32(22));
      if (h->height < 0) h->height = -h->height;  // top-down rows
    } else {
      return fail(error, "cannot read the BMP header");
    }
  } else if (le.starts(0, "RIFF"sv) && le.starts(8, "WEBP"sv)) {
    h->format = ImageFormat::WebP;
    if (!webp_size(le, h, error)) return false;
  } else if (le.starts(0, "II*\0"sv) || le.starts(0, "MM\0*"sv)) {
    h->format = ImageFormat::Tiff;
    uint32_t w = 0, ht = 0;
    if (!tiff_tag(bytes, 256, &w) || !tiff_tag(bytes, 257, &ht)) {
      return fail(error, "cannot read the TIFF header (no ImageWidth/ImageLength in the first directory)");
    }
    h->width = w;
    h->height = ht;
  } else if (le.starts(0, "II+\0"sv) || le.starts(0, "MM\0+"sv)) {
    return fail(error, "BigTIFF is not supported");
  } else {
    return fail(error, "not a JPEG, PNG, BMP, WebP or TIFF file");
  }
  if (h->width <= 0 || h->height <= 0) {
    return fail(error, "header gives an empty image (" + std::to_string(h->width) + " x " + std::to_string(h->height) + ")");
  }
  return true;
}

int jpeg_exif_orientation(std::string_view jpeg) {
  const Bytes b(jpeg, /*big_endian=*/true);
  uint64_t pos = 2;  // after SOI
  while (b.has(pos, 4) && b.u8(pos) == 0xff) {
    const uint32_t marker = b.u8(pos + 1);
    if (marker == 0xff) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0xda || marker == 0xd9) break;  // start of scan / end of image: no EXIF before it
    const uint32_t len = b.u16(pos + 2);
    if (len < 2 || !b.has(pos + 2, len)) break;
    if (marker == 0xe1 && len >= 8 && b.starts(pos + 4, "Exif\0\0"sv)) {
      uint32_t o = 1;
      tiff_tag(jpeg.substr(pos + 10, len - 8), 0x0112, &o);
      return o >= 1 && o <= 8 ? static_cast<int>(o) : 1;
    }
    pos += 2 + len;
  }
  return 1;
}

}  // namespace agegender
