#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <tuple>

#include "agegender/tb_writer.hpp"
#include "test_util.hpp"

using namespace agegender;
using namespace agegender::test;

TEST(TensorBoard, Crc32cKnownAnswer) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  const uint32_t c = crc32c("123456789", 9);
  EXPECT_EQ(masked_crc32c("123456789", 9), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(TensorBoard, RecordFraming) {
  const std::string payload = "hello";
  const std::string rec = TensorBoardWriter::frame(payload);
  ASSERT_EQ(rec.size(), 8u + 4 + payload.size() + 4);
  uint64_t len;
  std::memcpy(&len, rec.data(), 8);
  EXPECT_EQ(len, payload.size());
  uint32_t len_crc, data_crc;
  std::memcpy(&len_crc, rec.data() + 8, 4);
  std::memcpy(&data_crc, rec.data() + 12 + payload.size(), 4);
  EXPECT_EQ(len_crc, masked_crc32c(rec.data(), 8));
  EXPECT_EQ(data_crc, masked_crc32c(payload.data(), payload.size()));
  EXPECT_EQ(rec.substr(12, payload.size()), payload);
}

TEST(TensorBoard, ScalarEventEncoding) {
  // Event{1: wall_time=1.5, 2: step=3, 5: Summary{1: Value{1: "a", 2: 2.0f}}}, encoded by hand.
  const std::string e = TensorBoardWriter::scalar_event(1.5, 3, "a", 2.0f);
  const std::string expected("\x09\x00\x00\x00\x00\x00\x00\xf8\x3f"  // field 1, fixed64 1.5
                             "\x10\x03"                              // field 2, varint 3
                             "\x2a\x0a"                              // field 5, 10 bytes
                             "\x0a\x08"                              // Summary.value, 8 bytes
                             "\x0a\x01" "a"                          // Value.tag
                             "\x15\x00\x00\x00\x40",                 // Value.simple_value 2.0f
                             9 + 2 + 2 + 2 + 3 + 5);
  EXPECT_EQ(e, expected);
}

TEST(TensorBoard, WritesFileVersionFirst) {
  TempDir tmp;
  std::string path;
  {
    TensorBoardWriter w(tmp.str());
    w.add_scalar("train/loss", 0.5f, 1);
    path = w.path();
  }
  EXPECT_NE(fs::path(path).filename().string().find("events.out.tfevents."), std::string::npos);
  const std::string bytes = read_file(path);
  uint64_t len;
  std::memcpy(&len, bytes.data(), 8);
  EXPECT_NE(bytes.substr(12, len).find("brain.Event:2"), std::string::npos);
  EXPECT_NE(bytes.find("train/loss"), std::string::npos);
}

// The file read back by an independent decoder (tests/python/read_tfevents.py: its own CRC32C and
// protobuf messages), so a bug shared by our writer and our CRC cannot pass unnoticed.
TEST(TensorBoard, IndependentDecoderReadsOurScalars) {
  const bool ci = std::getenv("CI") && std::string(std::getenv("CI")) == "true";
  const auto unavailable = [ci](const std::string& why) {
    if (ci) {
      ADD_FAILURE() << why << " (CI=true: required; scripts/setup.sh installs python3-protobuf)";
    } else {
      GTEST_SKIP() << why << "; install python3-protobuf (scripts/setup.sh) to run this test";
    }
  };
  if (!fs::exists("/usr/bin/python3")) return unavailable("/usr/bin/python3 not found");
  TempDir tmp;
  std::string path;
  const std::vector<std::tuple<std::string, float, int64_t>> written = {
      {"train/loss", 0.5f, 1}, {"val/acc", 0.875f, 1}, {"lr", 1e-3f, 2}, {"test/gender_acc", -2.25f, 300000}};
  {
    TensorBoardWriter w(tmp.str());
    for (const auto& [tag, v, step] : written) w.add_scalar(tag, v, step);
    w.flush();
    path = w.path();
  }
  const auto r = run_shell("/usr/bin/python3 " + std::string(AGEGENDER_SOURCE_DIR) + "/tests/python/read_tfevents.py " + path);
  if (r.exit_code == 3) return unavailable("google.protobuf is not importable: " + r.output);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["file_version"], "brain.Event:2");
  ASSERT_EQ(j["scalars"].size(), written.size()) << r.output;
  for (size_t i = 0; i < written.size(); ++i) {
    const auto& s = j["scalars"][i];
    EXPECT_EQ(s["tag"], std::get<0>(written[i]));
    EXPECT_EQ(s["value"].get<float>(), std::get<1>(written[i])) << s;  // float32 round trip is exact
    EXPECT_EQ(s["step"].get<int64_t>(), std::get<2>(written[i])) << s;
    EXPECT_GT(s["wall_time"].get<double>(), 1.6e9) << s;
  }

  // A flipped payload byte is caught by the independent CRC.
  std::string bytes = read_file(path);
  bytes[bytes.size() - 6] ^= 0x01;
  write_file(tmp.path() / "corrupt.tfevents", bytes);
  const auto bad = run_shell("/usr/bin/python3 " + std::string(AGEGENDER_SOURCE_DIR) + "/tests/python/read_tfevents.py " +
                             tmp.str("corrupt.tfevents"));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("CRC"), std::string::npos) << bad.output;
}
