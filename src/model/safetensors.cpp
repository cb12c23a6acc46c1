#include "agegender/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agegender/atomic_file.hpp"
#include "agegender/error.hpp"

namespace agegender {
using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeader = 100u << 20;  // the reference implementation's limit

struct DtypeInfo {
  StDtype dtype;
  const char* name;
  size_t size;
};
constexpr DtypeInfo kDtypes[] = {{StDtype::F32, "F32", 4}, {StDtype::F16, "F16", 2}, {StDtype::BF16, "BF16", 2},
                                 {StDtype::F64, "F64", 8}, {StDtype::I64, "I64", 8}, {StDtype::I32, "I32", 4},
                                 {StDtype::U8, "U8", 1},   {StDtype::BOOL, "BOOL", 1}};

float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign << 31;
    } else {  // subnormal: normalise
      int e = -1;
      uint32_t m = mant;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400) == 0);
      bits = (sign << 31) | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((m & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = (sign << 31) | 0x7f800000u | (mant << 13);
  } else {
    bits = (sign << 31) | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the project targets little-endian hosts (x86-64, aarch64)
  return v;
}

// The header as it streams past, in one linear SAX pass and without a JSON tree: a 200k-tensor header is
// 13 MB of JSON, and a DOM (plus nlohmann's parser callbacks, quadratic here) made loading crawl.
// Records what each entry holds; parse_safetensors validates it.
class HeaderReader : public json::json_sax_t {
 public:
  struct Entry {
    std::string name, dtype;
    std::vector<uint64_t> shape, offsets;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    bool bad_dtype = false, bad_shape = false, bad_offsets = false;  // present, but of the wrong JSON type
  };
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  int metadata_objects = 0;
  std::string problem, syntax_error;  // the first structural problem / JSON syntax error

  bool null() override { return scalar(nullptr, nullptr); }
  bool boolean(bool) override { return scalar(nullptr, nullptr); }
  bool number_integer(number_integer_t) override { return scalar(nullptr, nullptr); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(nullptr, &v); }
  bool number_float(number_float_t, const string_t&) override { return scalar(nullptr, nullptr); }
  bool string(string_t& v) override { return scalar(&v, nullptr); }
  bool binary(binary_t&) override { return scalar(nullptr, nullptr); }
  bool key(string_t& k) override {
    if (depth_ == 1) top_ = k;
    if (depth_ == 2) field_ = k;
    return true;
  }
  bool start_object(std::size_t) override { return open(true); }
  bool end_object() override {
    if (--depth_ == 1) in_metadata_ = false;
    return true;
  }
  bool start_array(std::size_t) override { return open(false); }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    syntax_error = e.what();
    return false;
  }

 private:
  bool stop(const std::string& why) {
    problem = why;
    return false;
  }
  bool not_an_entry() {
    return stop(top_ == "__metadata__" ? "__metadata__ must be an object of strings"
                                       : "tensor '" + top_ + "' lacks dtype, shape or data_offsets");
  }
  void mark_bad() {  // a value of the wrong type for the current field
    Entry& e = entries.back();
    if (field_ == "dtype") e.has_dtype = e.bad_dtype = true;
    if (field_ == "shape") e.has_shape = e.bad_shape = true;
    if (field_ == "data_offsets") e.has_offsets = e.bad_offsets = true;
  }
  bool open(bool object) {
    if (depth_ == 0 && !object) return stop("header is not a JSON object");
    if (depth_ == 1) {
      if (!object) return not_an_entry();
      if (top_ == "__metadata__") {
        in_metadata_ = true;
        ++metadata_objects;
      } else {
        entries.emplace_back();
        entries.back().name = top_;
      }
    } else if (depth_ == 2 && in_metadata_) {
      return stop("__metadata__ value '" + field_ + "' is not a string");
    } else if (depth_ == 2 && !object && (field_ == "shape" || field_ == "data_offsets")) {
      (field_ == "shape" ? entries.back().has_shape : entries.back().has_offsets) = true;
    } else if (depth_ >= 2) {
      mark_bad();
    }
    ++depth_;
    return true;
  }
  bool scalar(const std::string* text, const uint64_t* number) {
    if (depth_ == 0) return stop("header is not a JSON object");
    if (depth_ == 1) return not_an_entry();
    if (depth_ == 2 && in_metadata_) {
      if (!text) return stop("__metadata__ value '" + field_ + "' is not a string");
      metadata[field_] = *text;
    } else if (depth_ == 2 && field_ == "dtype" && text) {
      entries.back().has_dtype = true;
      entries.back().dtype = *text;
    } else if (depth_ == 3 && number && (field_ == "shape" || field_ == "data_offsets")) {
      (field_ == "shape" ? entries.back().shape : entries.back().offsets).push_back(*number);
    } else if (depth_ <= 3) {
      mark_bad();  // unknown fields are ignored: mark_bad only touches the three known ones
    }
    return true;
  }

  int depth_ = 0;  // 1 = in the header object, 2 = in one entry, 3 = in one of its lists
  bool in_metadata_ = false;
  std::string top_, field_;
};

std::string list_json(const std::vector<uint64_t>& v) { return json(v).dump(); }

[[noreturn]] void st_fail(const std::string& origin, const std::string& why) {
  throw RuntimeError("safetensors " + origin + ": " + why);
}

}  // namespace

const char* st_dtype_name(StDtype d) {
  for (const auto& i : kDtypes) {
    if (i.dtype == d) return i.name;
  }
  return "?";
}

size_t st_dtype_size(StDtype d) {
  for (const auto& i : kDtypes) {
    if (i.dtype == d) return i.size;
  }
  return 0;
}

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

std::vector<float> StTensor::to_float() const {
  const size_t n = static_cast<size_t>(numel());
  std::vector<float> out(n);
  const char* p = data.data();
  switch (dtype) {
    case StDtype::F32: std::memcpy(out.data(), p, n * 4); break;
    case StDtype::F64:
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<double>(p + 8 * i));
      break;
    case StDtype::F16:
      for (size_t i = 0; i < n; ++i) out[i] = half_to_float(load_le<uint16_t>(p + 2 * i));
      break;
    case StDtype::BF16:
      for (size_t i = 0; i < n; ++i) {
        const uint32_t bits = static_cast<uint32_t>(load_le<uint16_t>(p + 2 * i)) << 16;
        std::memcpy(&out[i], &bits, 4);
      }
      break;
    default: throw RuntimeError(std::string("safetensors: cannot convert ") + st_dtype_name(dtype) + " to float");
  }
  return out;
}

StFile parse_safetensors(const std::string& bytes, const std::string& origin) {
  auto fail = [&](const std::string& why) { st_fail(origin, why); };
  if (bytes.size() < 8) fail("file too short (" + std::to_string(bytes.size()) + " bytes) for the 8-byte header length");
  const uint64_t header_len = load_le<uint64_t>(bytes.data());
  if (header_len > kMaxHeader) fail("header length " + std::to_string(header_len) + " exceeds the 100 MB limit");
  if (header_len > bytes.size() - 8) {
    fail("header length " + std::to_string(header_len) + " runs past the end of the file (" +
         std::to_string(bytes.size()) + " bytes)");
  }
  HeaderReader h;
  const bool parsed = json::sax_parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len), &h);
  if (!h.problem.empty()) fail(h.problem);
  if (!parsed) fail("header is not valid JSON: " + h.syntax_error);
  // Sorted by name, as the old map-based checks ran; equal neighbours are duplicate names.
  std::sort(h.entries.begin(), h.entries.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  for (size_t i = 1; i < h.entries.size(); ++i) {
    if (h.entries[i].name == h.entries[i - 1].name) fail("duplicate tensor names in header");
  }
  if (h.metadata_objects > 1) fail("duplicate tensor names in header");
  const uint64_t data_size = bytes.size() - 8 - header_len;
  const char* data = bytes.data() + 8 + header_len;
  StFile file;
  file.metadata = std::move(h.metadata);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& e : h.entries) {
    const std::string& name = e.name;
    if (!e.has_dtype || !e.has_shape || !e.has_offsets) fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
    StTensor t;
    const auto* info = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                    [&](const DtypeInfo& d) { return !e.bad_dtype && e.dtype == d.name; });
    if (info == std::end(kDtypes)) {
      fail("tensor '" + name + "' has unsupported dtype " + (e.bad_dtype ? "(not a string)" : json(e.dtype).dump()));
    }
    t.dtype = info->dtype;
    if (e.bad_shape) fail("tensor '" + name + "' has a bad shape (expected a list of non-negative integers)");
    uint64_t numel = 1;
    for (uint64_t s : e.shape) {
      if (s > (1ULL << 40)) fail("tensor '" + name + "' has a bad shape " + list_json(e.shape));
      t.shape.push_back(static_cast<int64_t>(s));
      numel *= s;
      if (numel > data_size) fail("tensor '" + name + "' shape " + list_json(e.shape) + " is larger than the file");
    }
    if (e.bad_offsets || e.offsets.size() != 2) fail("tensor '" + name + "' data_offsets must be [begin, end]");
    const uint64_t b = e.offsets[0], en = e.offsets[1];
    if (b > en || en > data_size) {
      fail("tensor '" + name + "' data_offsets [" + std::to_string(b) + ", " + std::to_string(en) +
           "] out of bounds (data is " + std::to_string(data_size) + " bytes)");
    }
    if (en - b != numel * info->size) {
      fail("tensor '" + name + "' has " + std::to_string(en - b) + " bytes but shape x dtype needs " +
           std::to_string(numel * info->size));
    }
    t.data.assign(data + b, en - b);
    ranges.emplace_back(b, en);
    file.tensors.emplace_hint(file.tensors.end(), name, std::move(t));  // names arrive sorted
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) fail("tensor data ranges overlap");
  }
  return file;
}

StFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RuntimeError("cannot open safetensors file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_safetensors(ss.str(), path);
}

std::string serialize_safetensors(const StFile& file) {
  json header = json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    const uint64_t n = t.data.size();
    if (n != static_cast<uint64_t>(t.numel()) * st_dtype_size(t.dtype)) {
      throw RuntimeError("safetensors: tensor '" + name + "' data size does not match its shape");
    }
    header[name] = {{"dtype", st_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // align the data start to 8 bytes, as the reference writer does
  std::string out(8, '\0');
  const uint64_t len = h.size();
  std::memcpy(out.data(), &len, 8);
  out += h;
  out.reserve(out.size() + offset);
  for (const auto& [name, t] : file.tensors) out += t.data;
  return out;
}

void write_safetensors(const std::string& path, const StFile& file) {
  write_file_atomic(path, serialize_safetensors(file));
}

}  // namespace agegender
