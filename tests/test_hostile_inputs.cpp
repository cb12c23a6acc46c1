// Hostile inputs (issue 10): decompression bombs, corrupt images, symlink loops, outputs over inputs,
// huge safetensors headers, absurd thread counts, odd file names, foreign caches, unknown commands.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "agegender/csv.hpp"
#include "agegender/error.hpp"
#include "agegender/image_cache.hpp"
#include "agegender/manifest.hpp"
#include "agegender/prepared_dataset.hpp"
#include "agegender/safetensors.hpp"
#include "test_util.hpp"

#ifdef AGEGENDER_HAS_OPENCV
#include <opencv2/videoio.hpp>

#include "agegender/config.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/prepare.hpp"
#include "agegender/trainer.hpp"
#include "data/image_header.hpp"
#include "fixtures.hpp"
#include "prepared_fixture.hpp"
#endif

using namespace agegender;
using namespace agegender::test;
using nlohmann::json;
using namespace std::string_literals;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The 8-byte little-endian length safetensors puts before its json header, then the header.
std::string length_prefixed(const std::string& h) {
  std::string bytes(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(bytes.data(), &n, 8);
  return bytes + h;
}

// A safetensors file whose header lists `count` one-byte tensors, plus the json of that header.
std::string safetensors_with(size_t count, json& header) {
  header = json::object();
  for (size_t i = 0; i < count; ++i) {
    header["t" + std::to_string(i)] = {{"dtype", "U8"}, {"shape", {1}}, {"data_offsets", {i, i + 1}}};
  }
  return length_prefixed(header.dump()) + std::string(count, 'x');
}

// Fastest of three parses: the least disturbed by whatever else the machine runs.
double best_parse_seconds(const std::string& bytes) {
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    parse_safetensors(bytes, "big.safetensors");
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

}  // namespace

// Scaling, not wall time, is what this guards (a quadratic overlap or duplicate check): ten times the
// entries must cost well under a hundred times the time. The absolute bound only catches a hang.
TEST(HostileInput, SafetensorsHeaderWith200kEntriesParsesInLinearTime) {
  constexpr size_t kTensors = 200000;
  json small_header;
  json header;
  const std::string small = safetensors_with(kTensors / 10, small_header);
  const std::string bytes = safetensors_with(kTensors, header);
  EXPECT_EQ(parse_safetensors(bytes, "big.safetensors").tensors.size(), kTensors);
  const double t_small = best_parse_seconds(small);
  const double t_big = best_parse_seconds(bytes);
  EXPECT_LT(t_big, 30 * t_small) << "20k entries: " << t_small << " s, 200k entries: " << t_big << " s";
  EXPECT_LT(t_big, 10.0) << "parsing a 200k-entry header took " << t_big << " s";
  // Validation still holds at that size: one overlapping pair and one duplicate name are found.
  header["t7"]["data_offsets"] = {8, 9};
  EXPECT_THROW(parse_safetensors(length_prefixed(header.dump()) + std::string(kTensors, 'x')), RuntimeError);
  const std::string dup = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  try {
    parse_safetensors(length_prefixed(dup) + "xx", "dup.safetensors");
    FAIL() << "duplicate names accepted";
  } catch (const RuntimeError& e) {
    EXPECT_TRUE(contains(e.what(), "duplicate tensor names")) << e.what();
  }
}

TEST(HostileInput, ManifestQuotesNewlinesCommasAndQuotes) {
  TempDir tmp;
  const std::vector<std::string> names = {"25_0_1_2017\n0116.jpg", "26_1_2_2017\r\n01.jpg", "27_0_3_2017,01.jpg",
                                          "28_1_4_2017\"01\".jpg", "29_0_0_\"\",\n\"x.jpg"};
  std::vector<ManifestRow> rows;
  for (size_t i = 0; i < names.size(); ++i) rows.push_back({names[i], {25 + static_cast<int>(i), static_cast<int>(i % 2), 1}, Split::Test});
  write_file(tmp.path() / "manifest.csv", manifest_csv(rows));
  const auto back = read_manifest(tmp.str("manifest.csv"));
  ASSERT_EQ(back.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(back[i].file, names[i]);
    EXPECT_EQ(back[i].label.age, rows[i].label.age);
    EXPECT_EQ(back[i].split, Split::Test);
  }
}

TEST(HostileInput, ForeignOrNonSquareImageCacheIsARuntimeErrorNamingTheFile) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "ds";
  fs::create_directories(dir);
  const std::string cache = (dir / kImageCacheFile).string();
  write_file(dir / kManifestFile, manifest_csv({{"a.jpg", {20, 0, 1}, Split::Test}}));
  auto open_error = [&]() -> std::string {
    try {
      PreparedDataset::open(dir.string());
    } catch (const RuntimeError& e) {
      return e.what();
    }
    return "<accepted>";
  };
  write_file(cache, "PK\x03\x04 this is a zip file, not an image cache" + std::string(64, '\0'));
  std::string e = open_error();
  EXPECT_TRUE(contains(e, cache) && contains(e, "bad magic")) << e;
  for (auto [h, w, c] : {std::tuple{16u, 32u, 3u}, std::tuple{16u, 16u, 1u}}) {
    ImageCacheWriter writer(cache, 1, h, w, c);
    writer.write(0, std::vector<uint8_t>(static_cast<size_t>(h) * w * c, 7).data());
    writer.commit();
    e = open_error();
    EXPECT_TRUE(contains(e, cache) && contains(e, "expected square RGB images")) << e;
  }
}

TEST(HostileInput, UnknownCommandIsNamedAndTheCommandsListed) {
  const auto r = run_cli("frobnicate --x 1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "unknown command 'frobnicate'")) << r.output;
  EXPECT_TRUE(contains(r.output, "prepare") && contains(r.output, "predict") && contains(r.output, "eval")) << r.output;
  const auto help = run_cli("--help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
}

#ifdef AGEGENDER_HAS_OPENCV
namespace {

// A real JPEG whose frame header (SOF0) is rewritten to claim width x height: a decompression bomb.
std::string jpeg_claiming(int width, int height) {
  std::string b = encode_jpg(synthetic_face(30, 0, 1, 32));
  const size_t sof = b.find("\xff\xc0");
  EXPECT_NE(sof, std::string::npos);
  b[sof + 5] = static_cast<char>(height >> 8);
  b[sof + 6] = static_cast<char>(height & 0xff);
  b[sof + 7] = static_cast<char>(width >> 8);
  b[sof + 8] = static_cast<char>(width & 0xff);
  return b;
}

std::string encode(const cv::Mat& img, const std::string& ext, const std::vector<int>& params = {}) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, img, buf, params)) << ext;
  return std::string(buf.begin(), buf.end());
}

// Scan data cut short but the end-of-image marker kept: libjpeg only warns ("premature end of data
// segment") and fills grey; OpenCV accepts it.
std::string jpeg_premature_end() {
  const std::string good = encode_jpg(synthetic_face(50, 1, 2, 96));
  return good.substr(0, good.size() * 2 / 3) + "\xff\xd9";
}

// A restart marker where none may be (no restart interval): "corrupt JPEG data" for libjpeg.
std::string jpeg_corrupt_entropy() {
  std::string b = encode_jpg(synthetic_face(50, 1, 2, 96));
  size_t pos = b.size() / 2;
  while (static_cast<unsigned char>(b[pos - 1]) == 0xff || static_cast<unsigned char>(b[pos]) == 0xff) ++pos;
  b[pos] = '\xff';
  b[pos + 1] = '\xd3';
  return b;
}

// An APP1 Exif segment with one orientation tag, in either TIFF byte order, inserted after SOI.
std::string with_exif_orientation(const std::string& jpeg, int orientation, bool big_endian) {
  auto u16 = [&](int v) {
    return big_endian ? std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}
                      : std::string{static_cast<char>(v & 0xff), static_cast<char>(v >> 8)};
  };
  auto u32 = [&](int v) { return big_endian ? u16(0) + u16(v) : u16(v) + u16(0); };
  const std::string tiff = std::string(big_endian ? "MM" : "II") + u16(42) + u32(8) + u16(1) + u16(0x0112) + u16(3) +
                           u32(1) + u16(orientation) + u16(0) + u32(0);
  const std::string payload = std::string("Exif\0\0", 6) + tiff;
  const int len = static_cast<int>(payload.size()) + 2;
  return jpeg.substr(0, 2) + "\xff\xe1" + std::string{static_cast<char>(len >> 8), static_cast<char>(len & 0xff)} +
         payload + jpeg.substr(2);
}

cv::Mat opencv_decode(const std::string& bytes) {
  return cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data())), cv::IMREAD_COLOR);
}

bool same_pixels(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

std::string decode_error(const std::string& bytes, int64_t max_pixels = kDefaultMaxPixels) {
  cv::Mat img;
  std::string error;
  const bool ok = decode_bgr(bytes, &img, &error, max_pixels);
  return ok ? "<decoded " + std::to_string(img.cols) + "x" + std::to_string(img.rows) + ">" : error;
}

}  // namespace

TEST(HostileInput, DecompressionBombsAreRejectedFromTheHeaderBeforeDecoding) {
  const std::string bomb = jpeg_claiming(30000, 30000);
  ASSERT_LT(bomb.size(), 8000u);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = decode_error(bomb);
  EXPECT_LT(seconds_since(t0), 0.5);  // decoding 900 MP would take seconds and 2.7 GB
  EXPECT_TRUE(contains(e, "30000 x 30000") && contains(e, "--max-pixels")) << e;
  // A PNG's IHDR claims the same (its CRC no longer matches: the cap must come first).
  std::string png = encode(synthetic_face(30, 0, 1, 32), ".png");
  for (int off : {16, 20}) png.replace(static_cast<size_t>(off), 4, std::string("\x00\x00\x75\x30", 4));
  EXPECT_TRUE(contains(decode_error(png), "30000 x 30000")) << decode_error(png);
}

TEST(HostileInput, EveryDecodedFormatHasItsSizeCheckedFromItsHeader) {
  const cv::Mat img = synthetic_face(40, 1, 3, 48)(cv::Rect(0, 0, 48, 30)).clone();  // 48 x 30: not square
  const std::vector<std::pair<std::string, std::string>> files = {
      {"jpeg", encode(img, ".jpg")}, {"png", encode(img, ".png")}, {"bmp", encode(img, ".bmp")},
      {"webp lossless", encode(img, ".webp")}, {"webp lossy", encode(img, ".webp", {cv::IMWRITE_WEBP_QUALITY, 80})},
      {"tiff", encode(img, ".tiff")}};
  for (const auto& [what, bytes] : files) {
    ImageHeader h;
    std::string error;
    ASSERT_TRUE(read_image_header(bytes, &h, &error)) << what << ": " << error;
    if (h.format != ImageFormat::Jpeg) {
      EXPECT_EQ(h.width, 48) << what;
      EXPECT_EQ(h.height, 30) << what;
    }
    EXPECT_EQ(decode_error(bytes, 48 * 30), "<decoded 48x30>") << what;
    EXPECT_TRUE(contains(decode_error(bytes, 48 * 30 - 1), "48 x 30 pixels, over the --max-pixels limit of 1439")) << what;
  }
  // An extended WebP (VP8X) gives its canvas size in 24-bit fields.
  std::string vp8x = std::string("RIFF\x16\0\0\0WEBPVP8X\x0a\0\0\0", 20) + std::string(4, '\0') +
                     std::string("\x2f\x75\0\x1f\x4e\0", 6);  // 30000 x 20000 (stored minus one)
  ImageHeader h;
  std::string error;
  ASSERT_TRUE(read_image_header(vp8x, &h, &error)) << error;
  EXPECT_EQ(h.width, 30000);
  EXPECT_EQ(h.height, 20000);
  EXPECT_TRUE(contains(decode_error(vp8x), "30000 x 20000")) << decode_error(vp8x);
  // Formats whose header is not read here are not decoded at all.
  EXPECT_TRUE(contains(decode_error(encode(img, ".ppm")), "not a JPEG, PNG, BMP, WebP or TIFF")) << decode_error(encode(img, ".ppm"));
}

TEST(HostileInput, CorruptJpegDataIsRejectedWithAReason) {
  const std::string premature = jpeg_premature_end();
  ASSERT_FALSE(opencv_decode(premature).empty()) << "OpenCV alone accepts this file: the case this test is about";
  std::string e = decode_error(premature);
  EXPECT_TRUE(contains(e, "corrupt JPEG") && contains(e, "premature end")) << e;
  e = decode_error(jpeg_corrupt_entropy());
  EXPECT_TRUE(contains(e, "corrupt JPEG") && contains(e, "Corrupt JPEG data")) << e;
  // Random bytes behind each supported magic never throw; they fail with a reason.
  std::mt19937 rng(5);
  for (const std::string& magic : {"\xff\xd8\xff"s, "\x89PNG\r\n\x1a\n"s, "BM"s, "RIFF\0\0\0\0WEBPVP8 "s, "II*\0"s}) {
    for (int i = 0; i < 50; ++i) {
      std::string b = magic;
      for (int k = 0; k < 200; ++k) b += static_cast<char>(rng());
      cv::Mat img;
      std::string error;
      bool ok = true;
      EXPECT_NO_THROW(ok = decode_bgr(b, &img, &error));
      if (!ok) EXPECT_FALSE(error.empty());
    }
  }
}

TEST(HostileInput, JpegPixelsAndExifOrientationMatchOpenCv) {
  const cv::Mat color = synthetic_face(60, 0, 4, 48)(cv::Rect(0, 0, 48, 28)).clone();
  cv::Mat gray;
  cv::cvtColor(color, gray, cv::COLOR_BGR2GRAY);
  const std::string base = encode(color, ".jpg");
  std::vector<std::string> cases = {base, encode(gray, ".jpg"), encode(color, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}),
                                    encode(color, ".jpg", {cv::IMWRITE_JPEG_OPTIMIZE, 1, cv::IMWRITE_JPEG_RST_INTERVAL, 4})};
  for (int o = 1; o <= 8; ++o) cases.push_back(with_exif_orientation(base, o, o % 2 == 1));
  for (size_t i = 0; i < cases.size(); ++i) {
    cv::Mat ours;
    std::string error;
    ASSERT_TRUE(decode_bgr(cases[i], &ours, &error)) << i << ": " << error;
    EXPECT_TRUE(same_pixels(ours, opencv_decode(cases[i]))) << "case " << i << ": " << ours.cols << "x" << ours.rows;
  }
}

TEST(HostileInput, MaxPixelsAndOutputPathsAreCheckedBeforeAnyWork) {
  TempDir tmp;
  write_synthetic_dataset(tmp.path() / "in", 4, 32);
  write_file(tmp.path() / "file", "a regular file");
  auto r = run_cli("prepare --data " + tmp.str("in") + " --out " + tmp.str("file") + " --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--out " + tmp.str("file") + " exists and is not a folder")) << r.output;
  EXPECT_EQ(read_file(tmp.path() / "file"), "a regular file");
  r = run_cli("prepare --data " + tmp.str("in") + " --out " + tmp.str("p") + " --max-pixels 0 --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--max-pixels 0")) << r.output;
  r = run_cli("prepare --data " + tmp.str("in") + " --out " + tmp.str("p") + " --threads 100000 --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--threads 100000")) << r.output;
  EXPECT_FALSE(fs::exists(tmp.path() / "p"));
}

TEST(HostileInput, PrepareRejectsBadImagesAndLinksWithReasonsAndFollowsFileLinks) {
  TempDir tmp;
  const fs::path in = tmp.path() / "in", outside = tmp.path() / "outside";
  const auto names = write_synthetic_dataset(in, 30, 48);
  fs::create_directories(outside);
  const std::string bomb = utk_name(30, 0, 1, 900), premature = utk_name(31, 1, 1, 901), corrupt = utk_name(32, 0, 2, 902);
  write_file(in / bomb, jpeg_claiming(30000, 30000));
  write_file(in / premature, jpeg_premature_end());
  write_file(in / corrupt, jpeg_corrupt_entropy());
  const std::string loop_a = utk_name(33, 0, 1, 903), loop_b = utk_name(33, 0, 1, 904), dangling = utk_name(34, 1, 0, 905);
  fs::create_symlink(loop_b, in / loop_a);
  fs::create_symlink(loop_a, in / loop_b);
  fs::create_symlink("no_such_target.jpg", in / dangling);
  fs::create_directories(in / "sub");
  const std::string hard = utk_name(35, 0, 3, 906);
  fs::create_hard_link(in / names[0], in / "sub" / hard);
  const std::string linked = utk_name(36, 1, 2, 907);  // a symlink to a file outside the folder: followed
  write_file(outside / "real.jpg", encode_jpg(synthetic_face(36, 1, 99, 48)));
  fs::create_symlink(outside / "real.jpg", in / linked);
  fs::create_directory_symlink(in, in / "sub" / "back_to_top");  // would loop if followed

  PrepareOptions o;
  o.data = in.string();
  o.out = tmp.str("out");
  o.size = 32;
  o.quiet = true;
  const PrepareReport r = prepare_dataset(o);
  EXPECT_EQ(r.accepted, 31u);  // 30 generated + the followed symlink
  const json meta = json::parse(read_file(tmp.path() / "out" / kMetaFile));
  std::map<std::string, std::string> reasons;
  for (const auto& j : meta["rejected"]) reasons[j["file"]] = j["reason"];
  EXPECT_TRUE(contains(reasons[bomb], "30000 x 30000 pixels, over the --max-pixels limit")) << reasons[bomb];
  EXPECT_TRUE(contains(reasons[premature], "premature end")) << reasons[premature];
  EXPECT_TRUE(contains(reasons[corrupt], "Corrupt JPEG data")) << reasons[corrupt];
  EXPECT_TRUE(contains(reasons[loop_a], "symlink loop")) << reasons[loop_a];
  EXPECT_TRUE(contains(reasons[loop_b], "symlink loop")) << reasons[loop_b];
  EXPECT_TRUE(contains(reasons[dangling], "dangling symlink") && contains(reasons[dangling], "no_such_target.jpg"))
      << reasons[dangling];
  EXPECT_TRUE(contains(reasons["sub/" + hard], "hard link to " + names[0]) && contains(reasons["sub/" + hard], "duplicate"))
      << reasons["sub/" + hard];
  EXPECT_TRUE(contains(reasons["sub/back_to_top"], "symlink to a folder (not followed)")) << reasons["sub/back_to_top"];
  EXPECT_EQ(reasons.count(linked), 0u);
  EXPECT_EQ(meta["rejected"].size(), 8u) << meta["rejected"].dump(1);
  const PreparedDataset ds = PreparedDataset::open(o.out);
  EXPECT_TRUE(std::any_of(ds.rows.begin(), ds.rows.end(), [&](const ManifestRow& row) { return row.file == linked; }));
}

TEST(HostileInput, FailedPrepareRemovesOnlyTheFoldersItCreated) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "in");
  write_file(tmp.path() / "in" / utk_name(20, 0, 1, 1), "not an image");
  PrepareOptions o;
  o.data = tmp.str("in");
  o.quiet = true;
  o.out = tmp.str("new/a/b");
  EXPECT_THROW(prepare_dataset(o), RuntimeError);
  EXPECT_FALSE(fs::exists(tmp.path() / "new")) << "a failed prepare left its output folders behind";
  fs::create_directories(tmp.path() / "existing");
  write_file(tmp.path() / "existing" / "keep.txt", "user data");
  o.out = tmp.str("existing");
  EXPECT_THROW(prepare_dataset(o), RuntimeError);
  EXPECT_EQ(read_file(tmp.path() / "existing" / "keep.txt"), "user data");
  EXPECT_FALSE(fs::exists(tmp.path() / "existing" / kImageCacheFile));
  o.out = tmp.str("existing/new");
  EXPECT_THROW(prepare_dataset(o), RuntimeError);
  EXPECT_TRUE(fs::exists(tmp.path() / "existing"));
  EXPECT_FALSE(fs::exists(tmp.path() / "existing" / "new"));
}

TEST(HostileInput, FileNamesWithCommasAndQuotesSurvivePrepare) {
  TempDir tmp;
  const fs::path in = tmp.path() / "in";
  write_synthetic_dataset(in, 20, 32);
  // The datetime field of a UTKFace name is only an id: anything after its first digit is valid.
  const std::vector<std::string> odd = {"25_0_1_2017,0116,x.jpg.chip.jpg", "26_1_2_2017\"01\"16.jpg.chip.jpg",
                                        "27_0_3_2017\",\"q.jpg.chip.jpg"};
  for (size_t i = 0; i < odd.size(); ++i) write_file(in / odd[i], encode_jpg(synthetic_face(25, 0, 50 + static_cast<unsigned>(i), 32)));
  PrepareOptions o;
  o.data = in.string();
  o.out = tmp.str("out");
  o.size = 16;
  o.quiet = true;
  prepare_dataset(o);
  const PreparedDataset ds = PreparedDataset::open(o.out);
  ASSERT_EQ(ds.rows.size(), 23u);
  for (const auto& name : odd) {
    EXPECT_TRUE(std::any_of(ds.rows.begin(), ds.rows.end(), [&](const ManifestRow& r) { return r.file == name; })) << name;
  }
}

namespace {

// A tiny trained run shared by the predict and eval cases.
class HostileInputRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    run_ = new std::string(train_tiny_model(*dir_, 120, 32));
  }
  static void TearDownTestSuite() {
    delete run_;
    delete dir_;
  }
  // The CSV rows of a predict run keyed by file name: their error column.
  static std::map<std::string, std::string> errors_by_file(const fs::path& csv) {
    std::map<std::string, std::string> out;
    std::stringstream ss(read_file(csv));
    CsvReader reader(ss);
    std::vector<std::string> f;
    reader.next(f);  // header
    while (reader.next(f)) out[fs::path(f.front()).filename().string()] = f.back();
    return out;
  }
  static TempDir* dir_;
  static std::string* run_;
};
TempDir* HostileInputRun::dir_ = nullptr;
std::string* HostileInputRun::run_ = nullptr;

}  // namespace

TEST_F(HostileInputRun, ThreadsOver256AreUsageErrorsNamingTheFlag) {
  TempDir tmp;
  write_synthetic_dataset(tmp.path() / "in", 2, 32);
  for (const std::string& cmd : {"eval --run " + *run_, "predict --model " + *run_ + " --input " + tmp.str("in")}) {
    const auto r = run_cli(cmd + " --threads 100000");
    EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "--threads 100000: expected 0..256")) << r.output;
  }
}

TEST_F(HostileInputRun, OutputPathsThatAreFilesAreUsageErrors) {
  TempDir tmp;
  write_synthetic_dataset(tmp.path() / "in", 2, 32);
  write_file(tmp.path() / "file", "x");
  auto r = run_cli("eval --run " + *run_ + " --out " + tmp.str("file"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--out " + tmp.str("file") + " exists and is not a folder")) << r.output;
  r = run_cli("predict --model " + *run_ + " --input " + tmp.str("in") + " --annotate " + tmp.str("file"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--annotate " + tmp.str("file") + " exists and is not a folder")) << r.output;
  EXPECT_EQ(read_file(tmp.path() / "file"), "x");
}

TEST_F(HostileInputRun, AnnotateNeverOverwritesInputs) {
  TempDir tmp;
  const fs::path in = tmp.path() / "in";
  const auto names = write_synthetic_dataset(in, 2, 48);
  fs::create_directories(in / "out");
  fs::copy_file(in / names[0], in / "out" / names[0]);  // annotating into in/out would overwrite this input
  fs::create_directory_symlink(in, tmp.path() / "alias");
  const std::string before = read_file(in / names[0]);
  const std::string base = "predict --detect none --model " + *run_ + " --input " + in.string() + " --out " + tmp.str("o.csv");
  for (const std::string& target : {in.string(), in.string() + "/", tmp.str("alias"), tmp.str("alias/../in"), (in / "out").string()}) {
    const auto r = run_cli(base + " --annotate " + target);
    EXPECT_EQ(r.exit_code, 2) << target << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "is the input folder") || contains(r.output, "would overwrite the input")) << r.output;
    EXPECT_FALSE(fs::exists(tmp.path() / "o.csv")) << "refused only after writing results";
  }
  EXPECT_EQ(read_file(in / names[0]), before);
  const auto ok = run_cli(base + " --annotate " + tmp.str("annotated"));  // elsewhere: fine
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(fs::exists(tmp.path() / "annotated" / names[0]));
  EXPECT_EQ(read_file(in / names[0]), before);
}

TEST_F(HostileInputRun, PredictTurnsBombsCorruptImagesAndLinkLoopsIntoErrorRows) {
  TempDir tmp;
  const fs::path in = tmp.path() / "in";
  write_synthetic_dataset(in, 2, 48);
  write_file(in / "bomb.jpg", jpeg_claiming(30000, 30000));
  write_file(in / "premature.jpg", jpeg_premature_end());
  write_file(in / "corrupt.jpg", jpeg_corrupt_entropy());
  fs::create_symlink("loop_b.jpg", in / "loop_a.jpg");
  fs::create_symlink("loop_a.jpg", in / "loop_b.jpg");
  fs::create_symlink("gone.png", in / "dangling.png");
  fs::create_symlink("gone.txt", in / "notes.txt");  // not an image name: a warning, no row
  {
    cv::VideoWriter w((in / "clip.avi").string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(128, 128));
    ASSERT_TRUE(w.isOpened());
    for (int i = 0; i < 3; ++i) w.write(synthetic_face(20, 0, static_cast<unsigned>(i), 128));
  }
  const auto r = run_cli("predict --detect none --max-pixels 10000 --model " + *run_ + " --input " + in.string() + " --out " +
                         tmp.str("o.csv"));  // stills up to 96 x 96 fit, 128 x 128 frames do not
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "notes.txt")) << r.output;
  auto rows = errors_by_file(tmp.path() / "o.csv");
  EXPECT_TRUE(contains(rows["bomb.jpg"], "30000 x 30000 pixels")) << rows["bomb.jpg"];
  EXPECT_TRUE(contains(rows["premature.jpg"], "premature end")) << rows["premature.jpg"];
  EXPECT_TRUE(contains(rows["corrupt.jpg"], "Corrupt JPEG data")) << rows["corrupt.jpg"];
  EXPECT_TRUE(contains(rows["loop_a.jpg"], "symlink loop")) << rows["loop_a.jpg"];
  EXPECT_TRUE(contains(rows["dangling.png"], "dangling symlink")) << rows["dangling.png"];
  EXPECT_TRUE(contains(rows["clip.avi"], "video frames are 128 x 128 pixels, over the --max-pixels limit of 10000"))
      << rows["clip.avi"];
  EXPECT_EQ(rows.count("notes.txt"), 0u);
  size_t ok = 0;
  for (const auto& [file, error] : rows) ok += error.empty();
  EXPECT_EQ(ok, 2u);
}
#endif
