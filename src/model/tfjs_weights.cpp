#include "agegender/tfjs_weights.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "agegender/atomic_file.hpp"
#include "agegender/error.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace agegender {

int64_t TfjsTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string tfjs_shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

bool TfjsWeights::has(const std::string& name) const { return find(name) != nullptr; }

const TfjsTensor* TfjsWeights::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

TfjsTensor* TfjsWeights::find(const std::string& name) {
  return const_cast<TfjsTensor*>(static_cast<const TfjsWeights&>(*this).find(name));
}

const TfjsTensor& TfjsWeights::get(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  const TfjsTensor* t = find(name);
  if (!t) throw RuntimeError(manifest + ": tensor '" + name + "' not found (" + std::to_string(tensors.size()) +
                             " tensors in the manifest)");
  if (t->shape != expected_shape)
    throw RuntimeError(manifest + ": tensor '" + name + "' has shape " + tfjs_shape_str(t->shape) + ", expected " +
                       tfjs_shape_str(expected_shape));
  return *t;
}

float tfjs_half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1u;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  float v;
  if (exp == 0) {
    v = std::ldexp(static_cast<float>(mant), -24);  // zero or subnormal: mant * 2^-24
  } else if (exp == 31) {
    v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    v = std::ldexp(static_cast<float>(mant | 0x400u), static_cast<int>(exp) - 25);
  }
  return sign ? -v : v;
}

namespace {

struct Entry {
  TfjsTensor t;
  size_t elem_bytes = 0;  // stored bytes per element
  double scale = 1, min = 0;
  uint64_t nbytes = 0;
};

[[noreturn]] void fail(const std::string& manifest, const std::string& what) {
  throw RuntimeError(manifest + ": " + what);
}

std::string tensor_ctx(const std::string& name) { return "tensor '" + name + "': "; }

uint32_t le32(const unsigned char* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint16_t le16(const unsigned char* p) { return uint16_t(p[0] | (p[1] << 8)); }

Entry parse_entry(const std::string& mf, const json& w, size_t group, size_t index) {
  Entry e;
  const std::string where = "group " + std::to_string(group) + " weight " + std::to_string(index);
  if (!w.is_object()) fail(mf, where + ": entry is not an object");
  if (!w.contains("name") || !w["name"].is_string()) fail(mf, where + ": missing string \"name\"");
  e.t.name = w["name"].get<std::string>();
  const std::string ctx = tensor_ctx(e.t.name);

  if (!w.contains("shape") || !w["shape"].is_array()) fail(mf, ctx + "missing \"shape\" array");
  int64_t numel = 1;
  for (const auto& d : w["shape"]) {
    if (!d.is_number_integer()) fail(mf, ctx + "shape " + w["shape"].dump() + " has a non-integer dimension");
    if (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0)
      fail(mf, ctx + "shape " + w["shape"].dump() + " has a negative dimension");
    if (d.is_number_unsigned() && d.get<uint64_t>() > uint64_t(kTfjsMaxNumel))
      fail(mf, ctx + "shape " + w["shape"].dump() + " is too large");
    const int64_t v = d.get<int64_t>();
    e.t.shape.push_back(v);
    if (v != 0 && numel > kTfjsMaxNumel / v)
      fail(mf, ctx + "shape " + w["shape"].dump() + " is too large (more than " + std::to_string(kTfjsMaxNumel) +
                   " elements)");
    numel *= v;
  }

  if (!w.contains("dtype") || !w["dtype"].is_string()) fail(mf, ctx + "missing string \"dtype\"");
  e.t.dtype = w["dtype"].get<std::string>();
  if (e.t.dtype != "float32" && e.t.dtype != "int32" && e.t.dtype != "bool")
    fail(mf, ctx + "unsupported dtype '" + e.t.dtype + "' (supported: float32, int32, bool)");
  e.elem_bytes = e.t.dtype == "bool" ? 1 : 4;

  if (w.contains("quantization") && !w["quantization"].is_null()) {
    const json& q = w["quantization"];
    if (!q.is_object() || !q.contains("dtype") || !q["dtype"].is_string())
      fail(mf, ctx + "\"quantization\" needs a string \"dtype\"");
    e.t.quantization = q["dtype"].get<std::string>();
    if (e.t.quantization == "uint8" || e.t.quantization == "uint16") {
      if (e.t.dtype == "bool") fail(mf, ctx + e.t.quantization + " quantization is not defined for dtype bool");
      if (!q.contains("scale") || !q["scale"].is_number() || !q.contains("min") || !q["min"].is_number())
        fail(mf, ctx + e.t.quantization + " quantization needs numeric \"scale\" and \"min\"");
      e.scale = q["scale"].get<double>();
      e.min = q["min"].get<double>();
      if (!std::isfinite(e.scale) || !std::isfinite(e.min)) fail(mf, ctx + "quantization scale/min not finite");
      e.elem_bytes = e.t.quantization == "uint8" ? 1 : 2;
    } else if (e.t.quantization == "float16") {
      if (e.t.dtype != "float32")
        fail(mf, ctx + "float16 quantization is only defined for float32 weights, not " + e.t.dtype);
      e.elem_bytes = 2;
    } else {
      fail(mf, ctx + "unsupported quantization dtype '" + e.t.quantization + "' (supported: uint8, uint16, float16)");
    }
  }
  e.nbytes = uint64_t(numel) * e.elem_bytes;
  return e;
}

void decode(Entry& e, const unsigned char* p) {
  const int64_t n = e.t.numel();
  const bool is_float = e.t.dtype == "float32";
  if (is_float)
    e.t.values.resize(size_t(n));
  else
    e.t.ints.resize(size_t(n));
  const std::string& q = e.t.quantization;
  for (int64_t i = 0; i < n; ++i) {
    if (q.empty()) {
      if (e.t.dtype == "bool") {
        e.t.ints[size_t(i)] = p[i] ? 1 : 0;
      } else {
        const uint32_t bits = le32(p + 4 * i);
        if (is_float) {
          float f;
          std::memcpy(&f, &bits, 4);
          e.t.values[size_t(i)] = f;
        } else {
          e.t.ints[size_t(i)] = static_cast<int32_t>(bits);
        }
      }
    } else if (q == "float16") {
      e.t.values[size_t(i)] = tfjs_half_to_float(le16(p + 2 * i));
    } else {
      const double v = q == "uint8" ? double(p[i]) : double(le16(p + 2 * i));
      const double x = v * e.scale + e.min;  // as TF.js: in double, then stored as float32 / rounded
      if (is_float) {
        e.t.values[size_t(i)] = static_cast<float>(x);
      } else {
        const double r = std::floor(x + 0.5);  // JS Math.round: halves go up
        e.t.ints[size_t(i)] = static_cast<int32_t>(
            std::min<double>(std::max<double>(r, std::numeric_limits<int32_t>::min()), std::numeric_limits<int32_t>::max()));
      }
    }
  }
}

}  // namespace

TfjsWeights read_tfjs_weights(const std::string& manifest_path) {
  const std::string& mf = manifest_path;
  std::ifstream in(manifest_path, std::ios::binary);
  if (!in || fs::is_directory(manifest_path))
    throw RuntimeError(mf + ": cannot open TF.js weights manifest");
  std::stringstream ss;
  ss << in.rdbuf();
  json root;
  try {
    root = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    fail(mf, std::string("invalid JSON in weights manifest: ") + e.what());
  }
  if (root.is_object() && root.contains("weightsManifest")) root = root["weightsManifest"];  // model.json
  if (!root.is_array()) fail(mf, "not a TF.js weights manifest (expected a JSON array of groups)");

  const fs::path base = fs::path(manifest_path).parent_path();
  TfjsWeights out;
  out.manifest = manifest_path;
  std::set<std::string> names;

  for (size_t g = 0; g < root.size(); ++g) {
    const json& group = root[g];
    const std::string gname = "group " + std::to_string(g);
    if (!group.is_object() || !group.contains("paths") || !group["paths"].is_array() || !group.contains("weights") ||
        !group["weights"].is_array())
      fail(mf, gname + ": needs \"paths\" and \"weights\" arrays");

    std::vector<Entry> entries;
    uint64_t need = 0;
    for (size_t i = 0; i < group["weights"].size(); ++i) {
      Entry e = parse_entry(mf, group["weights"][i], g, i);
      if (!names.insert(e.t.name).second) fail(mf, tensor_ctx(e.t.name) + "duplicate tensor name");
      need += e.nbytes;  // each <= 8 GiB, so no overflow for any realistic count
      entries.push_back(std::move(e));
    }

    // Shards: sizes first, so a wrong total is reported before reading anything.
    std::vector<fs::path> shard_paths;
    std::vector<uint64_t> shard_sizes;
    uint64_t have = 0;
    for (const auto& p : group["paths"]) {
      if (!p.is_string()) fail(mf, gname + ": \"paths\" holds a non-string");
      const fs::path sp = base / p.get<std::string>();
      // name the first tensor whose bytes start in (or after) this shard
      std::string first = entries.empty() ? std::string("(none)") : entries.back().t.name;
      {
        uint64_t off = 0;
        for (const auto& e : entries) {
          if (off + e.nbytes > have || (e.nbytes == 0 && off >= have)) {
            first = e.t.name;
            break;
          }
          off += e.nbytes;
        }
      }
      std::error_code ec;
      if (!fs::is_regular_file(sp, ec))
        fail(mf, tensor_ctx(first) + "weights shard " + sp.string() + " is missing or not a regular file");
      const uint64_t sz = fs::file_size(sp, ec);
      if (ec) fail(mf, tensor_ctx(first) + "cannot stat weights shard " + sp.string() + ": " + ec.message());
      shard_paths.push_back(sp);
      shard_sizes.push_back(sz);
      have += sz;
    }
    if (group["paths"].empty() && need > 0)
      fail(mf, tensor_ctx(entries.front().t.name) + gname + " lists no shards");

    if (have != need) {
      std::string shards;
      for (const auto& sp : shard_paths) shards += (shards.empty() ? "" : ", ") + sp.filename().string();
      if (have < need) {
        uint64_t off = 0;
        std::string culprit;
        for (const auto& e : entries) {
          if (off + e.nbytes > have) {
            culprit = e.t.name;
            break;
          }
          off += e.nbytes;
        }
        fail(mf, tensor_ctx(culprit) + "shards of " + gname + " (" + shards + ") hold " + std::to_string(have) +
                     " bytes but its tensors need " + std::to_string(need) + " (truncated shard?); data ends inside or before this tensor");
      }
      fail(mf, tensor_ctx(entries.empty() ? std::string("(none)") : entries.back().t.name) + "shards of " + gname +
                   " (" + shards + ") hold " + std::to_string(have) + " bytes but its tensors need only " +
                   std::to_string(need) + ": " + std::to_string(have - need) +
                   " unexplained bytes after this last tensor (wrong manifest for these shards?)");
    }

    std::string data;
    data.resize(size_t(have));
    uint64_t pos = 0;
    for (size_t s = 0; s < shard_paths.size(); ++s) {
      std::ifstream f(shard_paths[s], std::ios::binary);
      if (!f) fail(mf, "cannot open weights shard " + shard_paths[s].string());
      f.read(&data[size_t(pos)], std::streamsize(shard_sizes[s]));
      if (uint64_t(f.gcount()) != shard_sizes[s]) fail(mf, "short read from weights shard " + shard_paths[s].string());
      pos += shard_sizes[s];
    }

    uint64_t off = 0;
    for (auto& e : entries) {
      decode(e, reinterpret_cast<const unsigned char*>(data.data()) + off);
      off += e.nbytes;
      out.tensors.push_back(std::move(e.t));
    }
  }
  return out;
}

void write_tfjs_weights(const TfjsWeights& weights, const std::string& manifest_path) {
  const std::string suffix = "-weights_manifest.json";
  std::string shard = fs::path(manifest_path).filename().string();
  if (shard.size() > suffix.size() && shard.compare(shard.size() - suffix.size(), suffix.size(), suffix) == 0) {
    shard.resize(shard.size() - suffix.size());
  }
  shard += ".bin";
  std::string bytes;
  json entries = json::array();
  for (const auto& t : weights.tensors) {
    const bool is_float = t.dtype == "float32";
    const size_t count = is_float ? t.values.size() : t.ints.size();
    if (static_cast<int64_t>(count) != t.numel()) {
      throw RuntimeError(manifest_path + ": tensor '" + t.name + "' holds " + std::to_string(count) + " values for shape " +
                         tfjs_shape_str(t.shape));
    }
    for (size_t i = 0; i < count; ++i) {
      if (t.dtype == "bool") {
        bytes.push_back(static_cast<char>(t.ints[i] != 0));
        continue;
      }
      uint32_t bits = 0;
      if (is_float) std::memcpy(&bits, &t.values[i], 4);
      else bits = static_cast<uint32_t>(t.ints[i]);
      for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<char>((bits >> (8 * b)) & 0xffu));  // little-endian
    }
    entries.push_back({{"name", t.name}, {"shape", t.shape}, {"dtype", t.dtype}});
  }
  const json manifest = json::array({{{"paths", json::array({shard})}, {"weights", entries}}});
  write_file_atomic((fs::path(manifest_path).parent_path() / shard).string(), bytes);
  write_file_atomic(manifest_path, manifest.dump(1) + "\n");
}

}  // namespace agegender
