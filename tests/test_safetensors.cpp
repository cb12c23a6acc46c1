#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "agegender/error.hpp"
#include "agegender/safetensors.hpp"
#include "test_util.hpp"

using namespace agegender;
using namespace agegender::test;

namespace {

StTensor f32(std::vector<int64_t> shape, std::vector<float> v) {
  StTensor t;
  t.dtype = StDtype::F32;
  t.shape = std::move(shape);
  t.data.assign(reinterpret_cast<const char*>(v.data()), v.size() * 4);
  return t;
}

// A file image with an arbitrary header and data section.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

std::string parse_error(const std::string& bytes) {
  try {
    parse_safetensors(bytes, "test.safetensors");
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "<accepted>";
}

}  // namespace

TEST(Safetensors, RoundTripWithMetadata) {
  StFile f;
  f.tensors["features.0.weight"] = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  f.tensors["b"] = f32({}, {7});
  StTensor i;
  i.dtype = StDtype::I64;
  i.shape = {1};
  const int64_t v = 42;
  i.data.assign(reinterpret_cast<const char*>(&v), 8);
  f.tensors["step"] = i;
  f.metadata["agegender"] = "{\"epoch\": 3}";
  TempDir tmp;
  write_safetensors(tmp.str("w.safetensors"), f);
  const std::string bytes = read_file(tmp.path() / "w.safetensors");
  uint64_t hlen;
  std::memcpy(&hlen, bytes.data(), 8);
  EXPECT_EQ((8 + hlen) % 8, 0u);  // data aligned
  const StFile g = read_safetensors(tmp.str("w.safetensors"));
  ASSERT_EQ(g.tensors.size(), 3u);
  EXPECT_EQ(g.tensors.at("features.0.weight").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(g.tensors.at("features.0.weight").to_float(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(g.tensors.at("b").to_float(), std::vector<float>{7});
  EXPECT_EQ(g.tensors.at("step").data, i.data);
  EXPECT_EQ(g.metadata.at("agegender"), "{\"epoch\": 3}");
}

TEST(Safetensors, HalfAndBfloat16Convert) {
  StTensor h;
  h.dtype = StDtype::F16;
  h.shape = {4};
  const uint16_t halves[] = {0x3C00, 0xC000, 0x0001, 0x7BFF};  // 1, -2, smallest subnormal, 65504
  h.data.assign(reinterpret_cast<const char*>(halves), 8);
  const auto v = h.to_float();
  EXPECT_FLOAT_EQ(v[0], 1.0f);
  EXPECT_FLOAT_EQ(v[1], -2.0f);
  EXPECT_FLOAT_EQ(v[2], 5.9604645e-08f);
  EXPECT_FLOAT_EQ(v[3], 65504.0f);
  StTensor b;
  b.dtype = StDtype::BF16;
  b.shape = {2};
  const uint16_t bf[] = {0x3F80, 0x4049};  // 1.0, 3.140625
  b.data.assign(reinterpret_cast<const char*>(bf), 4);
  EXPECT_EQ(b.to_float(), (std::vector<float>{1.0f, 3.140625f}));
}

TEST(Safetensors, RejectsMalformedFiles) {
  const std::string ok_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data(8, '\0');
  EXPECT_EQ(parse_error(raw_file(ok_header, data)), "<accepted>");
  EXPECT_NE(parse_error("abc").find("too short"), std::string::npos);
  std::string huge(16, '\0');
  const uint64_t big = 1ULL << 40;
  std::memcpy(huge.data(), &big, 8);
  EXPECT_NE(parse_error(huge).find("exceeds"), std::string::npos);
  std::string beyond = raw_file(ok_header, data);
  const uint64_t past = beyond.size();
  std::memcpy(beyond.data(), &past, 8);
  EXPECT_NE(parse_error(beyond).find("past the end"), std::string::npos);
  EXPECT_NE(parse_error(raw_file("{not json", data)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(parse_error(raw_file("[1,2]", "")).find("not a JSON object"), std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"a":{"dtype":"Q8","shape":[2],"data_offsets":[0,8]}})", data)).find("unsupported dtype"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data)).find("out of bounds"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data + data)).find("needs 12"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data)).find("out of bounds"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data + data))
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                 R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", data + data))
                .find("duplicate"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data)).find("bad shape"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}})", data))
                .find("shape"),
            std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"a":{"dtype":"F32"}})", data)).find("lacks"), std::string::npos);
  EXPECT_NE(parse_error(raw_file(R"({"__metadata__":{"k":1}})", "")).find("not a string"), std::string::npos);
  EXPECT_THROW(read_safetensors("/no/such/file.safetensors"), RuntimeError);
}

// Randomised fuzzing: mutate valid files (bit flips, truncation, header edits); the parser must either
// accept or throw RuntimeError, never crash or allocate wildly. Seeded, so failures reproduce.
TEST(Safetensors, FuzzedInputsNeverCrash) {
  StFile f;
  f.tensors["x"] = f32({2, 2}, {1, 2, 3, 4});
  f.tensors["y"] = f32({3}, {5, 6, 7});
  f.metadata["m"] = "v";
  const std::string valid = serialize_safetensors(f);
  std::mt19937 rng(1234);
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = valid;
    switch (rng() % 4) {
      case 0:  // flip random bytes
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) s[rng() % s.size()] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1: s.resize(rng() % s.size()); break;
      case 2: s[rng() % 8] = static_cast<char>(rng()); break;  // header length
      default: {  // replace a digit in the header
        const size_t pos = 8 + rng() % (s.size() - 8);
        if (std::isdigit(static_cast<unsigned char>(s[pos]))) s[pos] = static_cast<char>('0' + rng() % 10);
      }
    }
    try {
      parse_safetensors(s);
      ++accepted;
    } catch (const RuntimeError&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(accepted, 10);  // mutations of tensor data are still valid files
}
