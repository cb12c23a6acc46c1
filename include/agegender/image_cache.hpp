#pragma once
// Binary cache of fixed-size RGB uint8 images, read by memory-mapping.
// Layout: 64-byte little-endian header, then count * height * width * channels bytes (HWC, RGB).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace agegender {

struct ImageCacheHeader {
  static constexpr char kMagic[8] = {'A', 'G', 'I', 'M', 'G', 'C', 'A', 'C'};
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kSize = 64;
  uint64_t count = 0;
  uint32_t height = 0, width = 0, channels = 0;
  size_t image_bytes() const { return static_cast<size_t>(height) * width * channels; }
};

/// Writes to `<path>.tmp` at known slots (thread-safe pwrite), then renames on commit().
/// Destroying an uncommitted writer removes the temp file, so a failed run leaves nothing half-written.
class ImageCacheWriter {
 public:
  ImageCacheWriter(const std::string& path, uint64_t count, uint32_t height, uint32_t width, uint32_t channels);
  ~ImageCacheWriter();
  ImageCacheWriter(const ImageCacheWriter&) = delete;
  ImageCacheWriter& operator=(const ImageCacheWriter&) = delete;

  void write(uint64_t index, const uint8_t* pixels);
  /// Keeps only the slots in `keep` (ascending), in that order, then commits. For the rare decode failure.
  void compact_and_commit(const std::vector<uint64_t>& keep);
  void commit();
  const ImageCacheHeader& header() const { return header_; }

 private:
  void write_header(int fd, uint64_t count);
  std::string path_, tmp_path_;
  ImageCacheHeader header_;
  int fd_ = -1;
};

/// Read-only, memory-mapped view. Throws RuntimeError naming the file on a truncated or foreign file.
class ImageCache {
 public:
  explicit ImageCache(const std::string& path);
  ~ImageCache();
  ImageCache(ImageCache&& other) noexcept;
  ImageCache& operator=(ImageCache&&) = delete;
  ImageCache(const ImageCache&) = delete;

  const ImageCacheHeader& header() const { return header_; }
  uint64_t size() const { return header_.count; }
  const uint8_t* image(uint64_t index) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  ImageCacheHeader header_;
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
};

}  // namespace agegender
