#include "agegender/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
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
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  } catch (const json::parse_error& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail("header is not a JSON object");
  // nlohmann keeps the last of duplicate keys silently; detect duplicates with a strict re-parse.
  {
    size_t count = 0;
    json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json&) {
      if (depth == 1 && ev == json::parse_event_t::key) ++count;
      return true;
    };
    json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len), cb);
    if (count != header.size()) fail("duplicate tensor names in header");
  }
  const uint64_t data_size = bytes.size() - 8 - header_len;
  const char* data = bytes.data() + 8 + header_len;
  StFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& e = *it;
    if (name == "__metadata__") {
      if (!e.is_object()) fail("__metadata__ must be an object of strings");
      for (auto m = e.begin(); m != e.end(); ++m) {
        if (!m->is_string()) fail("__metadata__ value '" + m.key() + "' is not a string");
        file.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets")) {
      fail("tensor '" + name + "' lacks dtype, shape or data_offsets");
    }
    StTensor t;
    const auto* info = std::find_if(std::begin(kDtypes), std::end(kDtypes), [&](const DtypeInfo& d) {
      return e["dtype"].is_string() && e["dtype"].get<std::string>() == d.name;
    });
    if (info == std::end(kDtypes)) fail("tensor '" + name + "' has unsupported dtype " + e["dtype"].dump());
    t.dtype = info->dtype;
    if (!e["shape"].is_array()) fail("tensor '" + name + "' shape is not a list");
    uint64_t numel = 1;
    for (const auto& s : e["shape"]) {
      if (!s.is_number_unsigned() || s.get<uint64_t>() > (1ULL << 40)) fail("tensor '" + name + "' has a bad shape " + e["shape"].dump());
      t.shape.push_back(s.get<int64_t>());
      numel *= s.get<uint64_t>();
      if (numel > data_size) fail("tensor '" + name + "' shape " + e["shape"].dump() + " is larger than the file");
    }
    const json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      fail("tensor '" + name + "' data_offsets must be [begin, end]");
    }
    const uint64_t b = off[0].get<uint64_t>(), en = off[1].get<uint64_t>();
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
    file.tensors.emplace(name, std::move(t));
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
