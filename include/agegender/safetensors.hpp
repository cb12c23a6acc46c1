#pragma once
// safetensors: u64 LE header length | JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {..}}
// | raw little-endian data. Torch-free: models/weights.cpp converts to and from torch tensors.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace agegender {

enum class StDtype { F32, F16, BF16, F64, I64, I32, U8, BOOL };
const char* st_dtype_name(StDtype d);
size_t st_dtype_size(StDtype d);

struct StTensor {
  StDtype dtype = StDtype::F32;
  std::vector<int64_t> shape;
  std::string data;  // raw little-endian bytes, size = numel * dtype size
  int64_t numel() const;
  /// Converts F32/F16/BF16/F64 to float; throws RuntimeError for integer dtypes.
  std::vector<float> to_float() const;
};

struct StFile {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> metadata;
};

/// Parses and validates a whole file image. Throws RuntimeError naming `origin` and the problem:
/// header length beyond the file or over 100 MB, invalid JSON, unknown dtype, bad shape, offsets out of
/// bounds / overlapping / not matching shape x dtype, duplicate names.
StFile parse_safetensors(const std::string& bytes, const std::string& origin = "<memory>");
StFile read_safetensors(const std::string& path);
std::string serialize_safetensors(const StFile& file);
/// Atomic (temp + rename).
void write_safetensors(const std::string& path, const StFile& file);

}  // namespace agegender
