#pragma once
// manifest.csv of a prepared dataset: `file,age,gender,race,split`; row i is image i of the cache.
#include <string>
#include <vector>

#include "agegender/split.hpp"
#include "agegender/utkface.hpp"

namespace agegender {

struct ManifestRow {
  std::string file;
  FaceLabel label;
  Split split = Split::Train;
};

std::string manifest_csv(const std::vector<ManifestRow>& rows);
/// Throws RuntimeError naming file and line on a bad header, field count or value.
std::vector<ManifestRow> read_manifest(const std::string& path);

}  // namespace agegender
