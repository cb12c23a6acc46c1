#include "agegender/image_cache.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "agegender/error.hpp"

namespace agegender {
namespace {

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

void pwrite_all(int fd, const uint8_t* data, size_t n, off_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw RuntimeError("cannot write " + path + ": " + std::strerror(errno));
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += w;
  }
}

void pread_all(int fd, uint8_t* data, size_t n, off_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, data, n, offset);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      throw RuntimeError("cannot read " + path + ": " + (r == 0 ? "unexpected end" : std::strerror(errno)));
    }
    data += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
}

}  // namespace

ImageCacheWriter::ImageCacheWriter(const std::string& path, uint64_t count, uint32_t height, uint32_t width,
                                   uint32_t channels)
    : path_(path), tmp_path_(path + ".tmp") {
  if (height == 0 || width == 0 || (channels != 1 && channels != 3)) {
    throw UsageError("image cache needs a positive size and 1 or 3 channels");
  }
  header_.count = count;
  header_.height = height;
  header_.width = width;
  header_.channels = channels;
  fd_ = ::open(tmp_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw RuntimeError("cannot create " + tmp_path_ + ": " + std::strerror(errno));
  write_header(fd_, count);
  if (::ftruncate(fd_, static_cast<off_t>(ImageCacheHeader::kSize + count * header_.image_bytes())) != 0) {
    throw RuntimeError("cannot size " + tmp_path_ + ": " + std::strerror(errno));
  }
}

ImageCacheWriter::~ImageCacheWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
}

void ImageCacheWriter::write_header(int fd, uint64_t count) {
  uint8_t h[ImageCacheHeader::kSize] = {};
  std::memcpy(h, ImageCacheHeader::kMagic, 8);
  put_u32(h + 8, ImageCacheHeader::kVersion);
  put_u32(h + 12, static_cast<uint32_t>(ImageCacheHeader::kSize));
  put_u64(h + 16, count);
  put_u32(h + 24, header_.height);
  put_u32(h + 28, header_.width);
  put_u32(h + 32, header_.channels);
  pwrite_all(fd, h, sizeof h, 0, tmp_path_);
}

void ImageCacheWriter::write(uint64_t index, const uint8_t* pixels) {
  if (index >= header_.count) throw RuntimeError("image cache slot out of range");
  const size_t n = header_.image_bytes();
  pwrite_all(fd_, pixels, n, static_cast<off_t>(ImageCacheHeader::kSize + index * n), tmp_path_);
}

void ImageCacheWriter::compact_and_commit(const std::vector<uint64_t>& keep) {
  const size_t n = header_.image_bytes();
  std::vector<uint8_t> buf(n);
  uint64_t dst = 0;
  for (uint64_t src : keep) {  // ascending, so dst <= src and no slot is overwritten before it is read
    if (src != dst) {
      pread_all(fd_, buf.data(), n, static_cast<off_t>(ImageCacheHeader::kSize + src * n), tmp_path_);
      pwrite_all(fd_, buf.data(), n, static_cast<off_t>(ImageCacheHeader::kSize + dst * n), tmp_path_);
    }
    ++dst;
  }
  header_.count = keep.size();
  write_header(fd_, header_.count);
  if (::ftruncate(fd_, static_cast<off_t>(ImageCacheHeader::kSize + header_.count * n)) != 0) {
    throw RuntimeError("cannot truncate " + tmp_path_ + ": " + std::strerror(errno));
  }
  commit();
}

void ImageCacheWriter::commit() {
  if (fd_ < 0) return;
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    fd_ = -1;
    throw RuntimeError("cannot flush " + tmp_path_ + ": " + std::strerror(errno));
  }
  fd_ = -1;
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    throw RuntimeError("cannot rename " + tmp_path_ + " to " + path_ + ": " + std::strerror(errno));
  }
}

ImageCache::ImageCache(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw RuntimeError("cannot open image cache " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw RuntimeError("cannot stat image cache " + path);
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  uint8_t h[ImageCacheHeader::kSize] = {};
  if (file_size < ImageCacheHeader::kSize) {
    ::close(fd);
    throw RuntimeError("image cache " + path + " is truncated: " + std::to_string(file_size) +
                       " bytes, shorter than its 64-byte header");
  }
  try {
    pread_all(fd, h, sizeof h, 0, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  auto fail = [&](const std::string& why) {
    ::close(fd);
    throw RuntimeError("image cache " + path + ": " + why);
  };
  if (std::memcmp(h, ImageCacheHeader::kMagic, 8) != 0) fail("not an agegender image cache (bad magic)");
  const uint32_t version = get_u32(h + 8);
  if (version != ImageCacheHeader::kVersion) {
    fail("unsupported version " + std::to_string(version) + " (this build reads version " +
         std::to_string(ImageCacheHeader::kVersion) + "); re-run `agegender prepare`");
  }
  if (get_u32(h + 12) != ImageCacheHeader::kSize) fail("bad header size");
  header_.count = get_u64(h + 16);
  header_.height = get_u32(h + 24);
  header_.width = get_u32(h + 28);
  header_.channels = get_u32(h + 32);
  if (header_.height == 0 || header_.width == 0 || header_.height > 4096 || header_.width > 4096 ||
      (header_.channels != 1 && header_.channels != 3)) {
    fail("implausible image shape in header");
  }
  const uint64_t image_bytes = header_.image_bytes();
  if (header_.count > (file_size - ImageCacheHeader::kSize) / image_bytes ||
      file_size != ImageCacheHeader::kSize + header_.count * image_bytes) {
    fail("truncated or oversized: header says " + std::to_string(header_.count) + " images of " +
         std::to_string(image_bytes) + " bytes, file has " + std::to_string(file_size) + " bytes");
  }
  map_size_ = static_cast<size_t>(file_size);
  void* m = ::mmap(nullptr, map_size_, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw RuntimeError("cannot mmap image cache " + path + ": " + std::strerror(errno));
  map_ = static_cast<const uint8_t*>(m);
}

ImageCache::ImageCache(ImageCache&& o) noexcept
    : path_(std::move(o.path_)), header_(o.header_), map_(o.map_), map_size_(o.map_size_) {
  o.map_ = nullptr;
  o.map_size_ = 0;
}

ImageCache::~ImageCache() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

const uint8_t* ImageCache::image(uint64_t index) const {
  if (index >= header_.count) {
    throw RuntimeError("image index " + std::to_string(index) + " out of range for " + path_ + " (" +
                       std::to_string(header_.count) + " images)");
  }
  return map_ + ImageCacheHeader::kSize + index * header_.image_bytes();
}

}  // namespace agegender
