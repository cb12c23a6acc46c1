#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "agegender/error.hpp"
#include "agegender/tfjs_weights.hpp"

using namespace agegender;
namespace fs = std::filesystem;

namespace {

// A fresh folder per test under the system temp dir, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() /
            ("agegender_tfjs_test_" + std::to_string(stamp) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream f(path_ / name, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size()));
  }

 private:
  fs::path path_;
};

std::string f32(std::initializer_list<float> v) {
  std::string s;
  for (float x : v) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    for (int i = 0; i < 4; ++i) s.push_back(char((b >> (8 * i)) & 0xff));
  }
  return s;
}
std::string i32(std::initializer_list<int32_t> v) {
  std::string s;
  for (int32_t x : v) {
    const auto b = static_cast<uint32_t>(x);
    for (int i = 0; i < 4; ++i) s.push_back(char((b >> (8 * i)) & 0xff));
  }
  return s;
}
std::string u16(std::initializer_list<uint16_t> v) {
  std::string s;
  for (uint16_t x : v) {
    s.push_back(char(x & 0xff));
    s.push_back(char(x >> 8));
  }
  return s;
}
std::string u8(std::initializer_list<int> v) {
  std::string s;
  for (int x : v) s.push_back(char(x));
  return s;
}

// Runs read_tfjs_weights expecting RuntimeError; returns its message.
std::string error_of(const std::string& manifest) {
  try {
    read_tfjs_weights(manifest);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no RuntimeError for " << manifest;
  return "";
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// One-group manifest with a single shard "w.bin" holding `bytes`.
void one_tensor(const TempDir& d, const std::string& weight_json, const std::string& bytes) {
  d.write("m.json", R"([{"paths": ["w.bin"], "weights": [)" + weight_json + "]}]");
  d.write("w.bin", bytes);
}

}  // namespace

TEST(TfjsWeights, HalfToFloat) {
  EXPECT_EQ(tfjs_half_to_float(0x3C00), 1.0f);
  EXPECT_EQ(tfjs_half_to_float(0xC000), -2.0f);
  EXPECT_EQ(tfjs_half_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(tfjs_half_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(tfjs_half_to_float(0x0001), std::ldexp(1.0f, -24));           // smallest subnormal
  EXPECT_EQ(tfjs_half_to_float(0x03FF), 1023.0f * std::ldexp(1.0f, -24));  // largest subnormal
  EXPECT_EQ(tfjs_half_to_float(0x0400), std::ldexp(1.0f, -14));           // smallest normal
  EXPECT_EQ(tfjs_half_to_float(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(tfjs_half_to_float(0x8000)));
  EXPECT_EQ(tfjs_half_to_float(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(tfjs_half_to_float(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(tfjs_half_to_float(0x7E00)));
  EXPECT_TRUE(std::isnan(tfjs_half_to_float(0xFC01)));
}

TEST(TfjsWeights, ReadsAllDtypesGroupsAndShards) {
  TempDir d;
  // group 0: one shard; float32, int32, uint8-quantized float, uint16-quantized float, scalar
  d.write("m.json", R"([
    {"paths": ["g0.bin"], "weights": [
      {"name": "a/f32", "shape": [2, 3], "dtype": "float32"},
      {"name": "a/i32", "shape": [3], "dtype": "int32"},
      {"name": "a/q8", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
      {"name": "a/q16", "shape": [1, 3], "dtype": "float32",
       "quantization": {"min": 2.0, "scale": 0.001, "dtype": "uint16"}},
      {"name": "a/scalar", "shape": [], "dtype": "float32"}
    ]},
    {"paths": ["g1-shard1of2.bin", "g1-shard2of2.bin"], "weights": [
      {"name": "b/h", "shape": [2, 2, 2], "dtype": "float32", "quantization": {"dtype": "float16"}},
      {"name": "b/span", "shape": [3], "dtype": "float32"},
      {"name": "b/iq", "shape": [5], "dtype": "int32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -2}},
      {"name": "b/flag", "shape": [2], "dtype": "bool"},
      {"name": "b/empty", "shape": [0, 4], "dtype": "float32"}
    ]}
  ])");
  d.write("g0.bin", f32({1, 2, 3, 4, 5, 6.5f}) + i32({-7, 0, 2147483647}) + u8({0, 1, 255}) +
                        u16({0, 65535, 1000}) + f32({-0.25f}));
  const std::string g1 = u16({0x3C00, 0xC000, 0x0001, 0x03FF, 0x7BFF, 0x7C00, 0x8000, 0x3555}) +
                         f32({10.f, 20.f, 30.f}) + u8({0, 1, 3, 4, 255}) + u8({1, 0});
  // split in the middle of b/span: 16 bytes of halfs + 6 of the 12 span bytes in shard 1
  d.write("g1-shard1of2.bin", g1.substr(0, 22));
  d.write("g1-shard2of2.bin", g1.substr(22));

  const TfjsWeights w = read_tfjs_weights(d.file("m.json"));
  EXPECT_EQ(w.manifest, d.file("m.json"));
  ASSERT_EQ(w.tensors.size(), 10u);
  const std::vector<std::string> order = {"a/f32", "a/i32", "a/q8",   "a/q16",  "a/scalar",
                                          "b/h",   "b/span", "b/iq", "b/flag", "b/empty"};
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(w.tensors[i].name, order[i]);

  const auto& a = w.get("a/f32", {2, 3});
  EXPECT_EQ(a.dtype, "float32");
  EXPECT_EQ(a.quantization, "");
  EXPECT_EQ(a.numel(), 6);
  EXPECT_EQ(a.values, (std::vector<float>{1, 2, 3, 4, 5, 6.5f}));
  EXPECT_TRUE(a.ints.empty());

  const auto& ai = w.get("a/i32", {3});
  EXPECT_EQ(ai.ints, (std::vector<int32_t>{-7, 0, 2147483647}));
  EXPECT_TRUE(ai.values.empty());

  const auto& q8 = w.get("a/q8", {3});
  EXPECT_EQ(q8.quantization, "uint8");
  EXPECT_EQ(q8.values, (std::vector<float>{-1.0f, -0.5f, 126.5f}));

  const auto& q16 = w.get("a/q16", {1, 3});
  EXPECT_EQ(q16.quantization, "uint16");
  ASSERT_EQ(q16.values.size(), 3u);
  EXPECT_EQ(q16.values[0], 2.0f);
  EXPECT_EQ(q16.values[1], static_cast<float>(65535 * 0.001 + 2.0));
  EXPECT_EQ(q16.values[2], static_cast<float>(1000 * 0.001 + 2.0));

  const auto& sc = w.get("a/scalar", {});
  EXPECT_EQ(sc.numel(), 1);
  EXPECT_EQ(sc.values, (std::vector<float>{-0.25f}));

  const auto& h = w.get("b/h", {2, 2, 2});
  EXPECT_EQ(h.quantization, "float16");
  ASSERT_EQ(h.values.size(), 8u);
  EXPECT_EQ(h.values[0], 1.0f);
  EXPECT_EQ(h.values[1], -2.0f);
  EXPECT_EQ(h.values[2], std::ldexp(1.0f, -24));  // subnormal
  EXPECT_EQ(h.values[3], 1023.0f * std::ldexp(1.0f, -24));
  EXPECT_EQ(h.values[4], 65504.0f);
  EXPECT_TRUE(std::isinf(h.values[5]));
  EXPECT_TRUE(h.values[6] == 0.0f && std::signbit(h.values[6]));
  EXPECT_EQ(h.values[7], 0.333251953125f);

  EXPECT_EQ(w.get("b/span", {3}).values, (std::vector<float>{10.f, 20.f, 30.f}));  // spans both shards
  // int32 with uint8 quantization (face-api's SSD stores two such tensors): q*0.5-2, rounded like
  // JS Math.round (halves towards +inf): -2, -1.5->-1, -0.5->0, 0, 125.5->126
  EXPECT_EQ(w.get("b/iq", {5}).ints, (std::vector<int32_t>{-2, -1, 0, 0, 126}));
  EXPECT_EQ(w.get("b/flag", {2}).ints, (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(w.get("b/empty", {0, 4}).numel(), 0);

  EXPECT_TRUE(w.has("b/span"));
  EXPECT_FALSE(w.has("b/nope"));
  EXPECT_EQ(w.find("b/nope"), nullptr);
  EXPECT_EQ(w.find("a/q8"), &q8);
}

TEST(TfjsWeights, WritesWhatItReadsUnquantized) {
  TempDir d;
  d.write("m.json", R"([
    {"paths": ["g0.bin"], "weights": [
      {"name": "a/q8", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
      {"name": "a/i32", "shape": [2], "dtype": "int32"},
      {"name": "a/scalar", "shape": [], "dtype": "float32"}]},
    {"paths": ["g1.bin"], "weights": [
      {"name": "b/flag", "shape": [3], "dtype": "bool"},
      {"name": "b/f32", "shape": [2, 1], "dtype": "float32"}]}
  ])");
  d.write("g0.bin", u8({0, 1, 255}) + i32({-7, 2147483647}) + f32({-0.25f}));
  d.write("g1.bin", u8({1, 0, 1}) + f32({1e-30f, -3.5f}));
  const TfjsWeights w = read_tfjs_weights(d.file("m.json"));
  write_tfjs_weights(w, d.file("tuned-weights_manifest.json"));
  EXPECT_TRUE(fs::is_regular_file(d.file("tuned.bin")));
  EXPECT_EQ(fs::file_size(d.file("tuned.bin")), 3u * 4 + 2 * 4 + 4 + 3 + 2 * 4);  // one shard, floats as float32
  const TfjsWeights back = read_tfjs_weights(d.file("tuned-weights_manifest.json"));
  ASSERT_EQ(back.tensors.size(), w.tensors.size());
  for (size_t i = 0; i < w.tensors.size(); ++i) {
    const TfjsTensor &a = w.tensors[i], &b = back.tensors[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.dtype, a.dtype);
    EXPECT_EQ(b.quantization, "") << b.name;
    EXPECT_EQ(b.values, a.values) << b.name;
    EXPECT_EQ(b.ints, a.ints) << b.name;
  }
  EXPECT_EQ(back.get("a/q8", {3}).values, (std::vector<float>{-1.0f, -0.5f, 126.5f}));
  EXPECT_EQ(back.get("b/flag", {3}).ints, (std::vector<int32_t>{1, 0, 1}));

  TfjsWeights broken = w;  // values that do not fill the shape are refused, naming the tensor
  broken.tensors[4].values.pop_back();
  try {
    write_tfjs_weights(broken, d.file("broken-weights_manifest.json"));
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("b/f32"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(d.file("broken-weights_manifest.json")));
}

TEST(TfjsWeights, AcceptsModelJsonWeightsManifest) {
  TempDir d;
  d.write("model.json", R"({"format": "graph-model", "weightsManifest": [
    {"paths": ["w.bin"], "weights": [{"name": "x", "shape": [2], "dtype": "float32"}]}]})");
  d.write("w.bin", f32({3, 4}));
  EXPECT_EQ(read_tfjs_weights(d.file("model.json")).get("x", {2}).values, (std::vector<float>{3, 4}));
}

TEST(TfjsWeights, MissingManifest) {
  TempDir d;
  const std::string msg = error_of(d.file("nope-weights_manifest.json"));
  EXPECT_NE(msg.find("nope-weights_manifest.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;
}

TEST(TfjsWeights, InvalidJson) {
  TempDir d;
  d.write("m.json", R"([{"paths": ["w.bin"], "weights": [ )");
  std::string msg = error_of(d.file("m.json"));
  EXPECT_TRUE(contains(msg, d.file("m.json"))) << msg;
  EXPECT_TRUE(contains(msg, "invalid JSON")) << msg;

  d.write("m.json", R"({"not": "a manifest"})");
  msg = error_of(d.file("m.json"));
  EXPECT_TRUE(contains(msg, d.file("m.json")) && contains(msg, "expected a JSON array")) << msg;
}

TEST(TfjsWeights, MissingShardNamesShardAndTensor) {
  TempDir d;
  d.write("m.json", R"([{"paths": ["s1.bin", "s2.bin"], "weights": [
      {"name": "first", "shape": [1], "dtype": "float32"},
      {"name": "second", "shape": [2], "dtype": "float32"}]}])");
  d.write("s1.bin", f32({1}));
  const std::string msg = error_of(d.file("m.json"));
  EXPECT_NE(msg.find(d.file("m.json")), std::string::npos) << msg;
  EXPECT_NE(msg.find("s2.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'second'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
}

TEST(TfjsWeights, ShardTooShort) {
  TempDir d;
  d.write("m.json", R"([{"paths": ["w.bin"], "weights": [
      {"name": "ok", "shape": [2], "dtype": "float32"},
      {"name": "cut", "shape": [2, 2], "dtype": "float32"},
      {"name": "after", "shape": [1], "dtype": "float32"}]}])");
  d.write("w.bin", f32({1, 2, 3, 4}));  // 16 bytes, needs 28
  const std::string msg = error_of(d.file("m.json"));
  EXPECT_NE(msg.find(d.file("m.json")), std::string::npos) << msg;
  EXPECT_NE(msg.find("'cut'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("w.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("16 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("28"), std::string::npos) << msg;
}

TEST(TfjsWeights, ShardTooLong) {
  TempDir d;
  one_tensor(d, R"({"name": "only", "shape": [2], "dtype": "float32"})", f32({1, 2, 3}));
  const std::string msg = error_of(d.file("m.json"));
  EXPECT_NE(msg.find(d.file("m.json")), std::string::npos) << msg;
  EXPECT_NE(msg.find("'only'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("12 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 unexplained bytes"), std::string::npos) << msg;
}

TEST(TfjsWeights, UnknownDtype) {
  TempDir d;
  one_tensor(d, R"({"name": "w64", "shape": [1], "dtype": "float64"})", f32({1, 2}));
  const std::string msg = error_of(d.file("m.json"));
  EXPECT_NE(msg.find(d.file("m.json")), std::string::npos) << msg;
  EXPECT_NE(msg.find("'w64'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("float64"), std::string::npos) << msg;
}

TEST(TfjsWeights, UnknownQuantizationDtype) {
  TempDir d;
  one_tensor(d, R"({"name": "q4", "shape": [2], "dtype": "float32", "quantization": {"dtype": "int4", "scale": 1, "min": 0}})",
             u8({1}));
  std::string msg = error_of(d.file("m.json"));
  EXPECT_TRUE(contains(msg, d.file("m.json")) && contains(msg, "'q4'") && contains(msg, "int4")) << msg;

  one_tensor(d, R"({"name": "noscale", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint8", "min": 0}})",
             u8({1, 2}));
  msg = error_of(d.file("m.json"));
  EXPECT_TRUE(contains(msg, "'noscale'") && contains(msg, "scale")) << msg;

  one_tensor(d, R"({"name": "halfint", "shape": [1], "dtype": "int32", "quantization": {"dtype": "float16"}})", u16({1}));
  msg = error_of(d.file("m.json"));
  EXPECT_TRUE(contains(msg, "'halfint'") && contains(msg, "float16")) << msg;
}

TEST(TfjsWeights, BadShapes) {
  TempDir d;
  one_tensor(d, R"({"name": "neg", "shape": [2, -3], "dtype": "float32"})", "");
  std::string msg = error_of(d.file("m.json"));
  EXPECT_TRUE(contains(msg, d.file("m.json")) && contains(msg, "'neg'") && contains(msg, "negative")) << msg;

  one_tensor(d, R"({"name": "huge", "shape": [1099511627776, 1099511627776], "dtype": "float32"})", "");
  msg = error_of(d.file("m.json"));
  EXPECT_TRUE(contains(msg, d.file("m.json")) && contains(msg, "'huge'") && contains(msg, "too large")) << msg;

  one_tensor(d, R"({"name": "vast", "shape": [18446744073709551615], "dtype": "float32"})", "");
  msg = error_of(d.file("m.json"));
  EXPECT_TRUE(contains(msg, "'vast'") && contains(msg, "too large")) << msg;

  one_tensor(d, R"({"name": "frac", "shape": [1.5], "dtype": "float32"})", "");
  msg = error_of(d.file("m.json"));
  EXPECT_TRUE(contains(msg, "'frac'") && contains(msg, "non-integer")) << msg;
}

TEST(TfjsWeights, DuplicateName) {
  TempDir d;
  d.write("m.json", R"([
    {"paths": ["a.bin"], "weights": [{"name": "dup", "shape": [1], "dtype": "float32"}]},
    {"paths": ["b.bin"], "weights": [{"name": "dup", "shape": [1], "dtype": "float32"}]}])");
  d.write("a.bin", f32({1}));
  d.write("b.bin", f32({2}));
  const std::string msg = error_of(d.file("m.json"));
  EXPECT_NE(msg.find(d.file("m.json")), std::string::npos) << msg;
  EXPECT_NE(msg.find("'dup'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("duplicate"), std::string::npos) << msg;
}

TEST(TfjsWeights, GetMissingOrWrongShape) {
  TempDir d;
  one_tensor(d, R"({"name": "conv/filters", "shape": [3, 3, 3, 16], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 1, "min": 0}})",
             std::string(3 * 3 * 3 * 16, '\x01'));
  const TfjsWeights w = read_tfjs_weights(d.file("m.json"));
  EXPECT_EQ(w.get("conv/filters", {3, 3, 3, 16}).values[431], 1.0f);
  try {
    w.get("conv/bias", {16});
    FAIL() << "no throw";
  } catch (const RuntimeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(d.file("m.json")), std::string::npos) << msg;
    EXPECT_NE(msg.find("'conv/bias'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  }
  try {
    w.get("conv/filters", {3, 3, 16, 3});
    FAIL() << "no throw";
  } catch (const RuntimeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(d.file("m.json")), std::string::npos) << msg;
    EXPECT_NE(msg.find("'conv/filters'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3, 3, 3, 16]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected [3, 3, 16, 3]"), std::string::npos) << msg;
  }
}
