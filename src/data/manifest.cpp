#include "agegender/manifest.hpp"

#include <fstream>
#include <sstream>

#include "agegender/error.hpp"

namespace agegender {

std::string manifest_csv(const std::vector<ManifestRow>& rows) {
  std::ostringstream out;
  out << "file,age,gender,race,split\n";
  for (const auto& r : rows) {
    out << r.file << ',' << r.label.age << ',' << r.label.gender << ',' << r.label.race << ','
        << split_name(r.split) << '\n';
  }
  return out.str();
}

std::vector<ManifestRow> read_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw RuntimeError("cannot open manifest " + path + " (run `agegender prepare` first)");
  std::string line;
  std::getline(in, line);
  if (line != "file,age,gender,race,split") {
    throw RuntimeError(path + ":1: expected header 'file,age,gender,race,split', found '" + line + "'");
  }
  std::vector<ManifestRow> rows;
  for (size_t lineno = 2; std::getline(in, line); ++lineno) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string item;
    while (std::getline(ss, item, ',')) f.push_back(item);
    const auto where = path + ":" + std::to_string(lineno) + ": ";
    if (f.size() != 5) throw RuntimeError(where + "expected 5 fields, found " + std::to_string(f.size()));
    ManifestRow r;
    r.file = f[0];
    try {
      r.label.age = std::stoi(f[1]);
      r.label.gender = std::stoi(f[2]);
      r.label.race = std::stoi(f[3]);
      r.split = parse_split(f[4]);
    } catch (const std::exception& e) {
      throw RuntimeError(where + "bad value: " + e.what());
    }
    if (r.label.age < 0 || r.label.age > kMaxAge || (r.label.gender != 0 && r.label.gender != 1) ||
        r.label.race < 0 || r.label.race >= kNumRaces) {
      throw RuntimeError(where + "label out of range");
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace agegender
