#include <gtest/gtest.h>

#include "agegender/error.hpp"
#include "agegender/image_cache.hpp"
#include "test_util.hpp"

using namespace agegender;
using namespace agegender::test;

namespace {

std::vector<uint8_t> pattern(size_t n, int seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 31 + seed * 17) & 0xFF);
  return v;
}

std::string write_cache(const TempDir& dir, int count) {
  const std::string path = dir.str("images.bin");
  ImageCacheWriter w(path, count, 8, 6, 3);
  for (int i = count - 1; i >= 0; --i) w.write(i, pattern(8 * 6 * 3, i).data());  // any order
  w.commit();
  return path;
}

}  // namespace

TEST(ImageCache, RoundTrip) {
  TempDir dir;
  const auto path = write_cache(dir, 5);
  ImageCache c(path);
  EXPECT_EQ(c.size(), 5u);
  EXPECT_EQ(c.header().height, 8u);
  EXPECT_EQ(c.header().width, 6u);
  for (int i = 0; i < 5; ++i) {
    const auto want = pattern(144, i);
    EXPECT_TRUE(std::equal(want.begin(), want.end(), c.image(i))) << i;
  }
  EXPECT_THROW(c.image(5), RuntimeError);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(ImageCache, CompactKeepsSelectedSlotsInOrder) {
  TempDir dir;
  const std::string path = dir.str("images.bin");
  {
    ImageCacheWriter w(path, 4, 2, 2, 3);
    for (int i = 0; i < 4; ++i) w.write(i, pattern(12, i).data());
    w.compact_and_commit({1, 3});
  }
  ImageCache c(path);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c.image(0)[0], pattern(12, 1)[0]);
  EXPECT_EQ(c.image(1)[0], pattern(12, 3)[0]);
}

TEST(ImageCache, UncommittedWriterLeavesNothing) {
  TempDir dir;
  { ImageCacheWriter w(dir.str("images.bin"), 2, 4, 4, 3); }
  EXPECT_FALSE(fs::exists(dir.str("images.bin")));
  EXPECT_FALSE(fs::exists(dir.str("images.bin.tmp")));
}

TEST(ImageCache, TruncatedFileIsRejected) {
  TempDir dir;
  const auto path = write_cache(dir, 3);
  fs::resize_file(path, fs::file_size(path) - 10);
  try {
    ImageCache c(path);
    FAIL() << "truncated cache accepted";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  fs::resize_file(path, 20);
  EXPECT_THROW(ImageCache{path}, RuntimeError);
}

TEST(ImageCache, ForeignFileAndWrongVersionAreRejected) {
  TempDir dir;
  const auto path = write_cache(dir, 2);
  std::string bytes = agegender::test::read_file(path);
  std::string foreign = bytes;
  foreign[0] = 'X';
  agegender::test::write_file(path, foreign);
  try {
    ImageCache c(path);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("bad magic"), std::string::npos) << e.what();
  }
  std::string wrong_version = bytes;
  wrong_version[8] = 9;
  agegender::test::write_file(path, wrong_version);
  try {
    ImageCache c(path);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported version 9"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ImageCache{dir.str("missing.bin")}, RuntimeError);
}
