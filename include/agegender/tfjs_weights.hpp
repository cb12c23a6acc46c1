#pragma once
// Reader for TensorFlow.js weights: a `*-weights_manifest.json` (or a model.json's
// "weightsManifest") plus the binary shards it lists. Torch-free; the face-api port converts the
// values to torch tensors itself.
//
// Manifest = JSON array of groups {"paths": [shard, ...], "weights": [entry, ...]}. Shard paths are
// relative to the manifest's folder. Per group the shards are concatenated in order and the
// entries' data follow each other in that byte stream with no padding (a tensor may span two
// shards). Entry: {"name", "shape": [dims], "dtype": "float32"|"int32"|"bool",
// optional "quantization": {"dtype": "uint8"|"uint16", "scale": s, "min": m} (value = q*s + m,
// computed in double; int32 results are rounded half up like JS Math.round) or
// {"dtype": "float16"} (IEEE half, float32 weights only)}. All data little-endian.
#include <cstdint>
#include <string>
#include <vector>

namespace agegender {

struct TfjsTensor {
  std::string name;
  std::vector<int64_t> shape;   // TF layout as stored (conv filters HWIO, depthwise HWC1, fc [in, out])
  std::string dtype;            // manifest dtype: "float32", "int32" or "bool"
  std::string quantization;     // "" (none), "uint8", "uint16" or "float16"
  std::vector<float> values;    // dtype float32 (dequantized); empty otherwise
  std::vector<int32_t> ints;    // dtype int32 (dequantized) or bool (0/1); empty otherwise
  int64_t numel() const;        // product of shape (1 for a scalar)
};

struct TfjsWeights {
  std::string manifest;             // path it was read from
  std::vector<TfjsTensor> tensors;  // manifest order (groups in order, entries in order)

  bool has(const std::string& name) const;
  /// nullptr when absent.
  const TfjsTensor* find(const std::string& name) const;
  TfjsTensor* find(const std::string& name);
  /// Throws RuntimeError naming the manifest and the tensor when it is missing or its shape differs.
  const TfjsTensor& get(const std::string& name, const std::vector<int64_t>& expected_shape) const;
};

/// Largest tensor accepted (elements); larger shapes are rejected as corrupt.
constexpr int64_t kTfjsMaxNumel = (int64_t{1} << 31) - 1;

/// Reads and dequantizes every tensor. Throws RuntimeError whose message names the manifest and, where
/// it applies, the tensor / shard: missing or unreadable manifest or shard, invalid JSON or structure,
/// unknown dtype or quantization, bad or overflowing shape, duplicate name, shards of a group holding
/// more or fewer bytes than the group's tensors need.
TfjsWeights read_tfjs_weights(const std::string& manifest_path);

/// Writes `weights` as a one-group TF.js manifest at `manifest_path` plus its one shard beside it (the
/// manifest's name with "-weights_manifest.json" replaced by ".bin"): float32 tensors unquantized, int32
/// and bool as they are, in `tensors` order, so read_tfjs_weights (and TF.js) read the same values back.
/// Shard first, then manifest, each written atomically. RuntimeError naming the file on failure.
void write_tfjs_weights(const TfjsWeights& weights, const std::string& manifest_path);

/// IEEE 754 binary16 -> float (subnormals, +-0, +-inf and NaN included).
float tfjs_half_to_float(uint16_t h);

/// "[a, b, c]"
std::string tfjs_shape_str(const std::vector<int64_t>& shape);

}  // namespace agegender
