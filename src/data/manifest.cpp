#include "agegender/manifest.hpp"

#include <fstream>

#include "agegender/csv.hpp"
#include "agegender/error.hpp"

namespace agegender {
namespace {

const std::vector<std::string> kHeader = {"file", "age", "gender", "race", "split"};

ManifestRow parse_row(const std::vector<std::string>& f, const std::string& where) {
  if (f.size() != kHeader.size()) {
    throw RuntimeError(where + "expected 5 fields, found " + std::to_string(f.size()));
  }
  ManifestRow r;
  r.file = f[0];
  try {
    size_t used = 0;
    auto integer = [&](const std::string& s) {
      const int v = std::stoi(s, &used);
      if (used != s.size()) throw std::invalid_argument("'" + s + "' is not an integer");
      return v;
    };
    r.label.age = integer(f[1]);
    r.label.gender = integer(f[2]);
    r.label.race = integer(f[3]);
    r.split = parse_split(f[4]);
  } catch (const std::exception& e) {
    throw RuntimeError(where + "bad value: " + e.what());
  }
  if (r.label.age < 0 || r.label.age > kMaxAge || (r.label.gender != 0 && r.label.gender != 1) || r.label.race < 0 ||
      r.label.race >= kNumRaces) {
    throw RuntimeError(where + "label out of range");
  }
  return r;
}

}  // namespace

std::string manifest_csv(const std::vector<ManifestRow>& rows) {
  std::string out = csv_line(kHeader);
  for (const auto& r : rows) {
    out += csv_line({r.file, std::to_string(r.label.age), std::to_string(r.label.gender), std::to_string(r.label.race),
                     split_name(r.split)});
  }
  return out;
}

std::vector<ManifestRow> read_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw RuntimeError("cannot open manifest " + path + " (run `agegender prepare` first)");
  CsvReader csv(in);
  std::vector<std::string> f;
  std::vector<ManifestRow> rows;
  try {
    if (!csv.next(f) || f != kHeader) throw RuntimeError(path + ":1: expected header 'file,age,gender,race,split'");
    while (csv.next(f)) rows.push_back(parse_row(f, path + ":" + std::to_string(csv.line()) + ": "));
  } catch (const RuntimeError& e) {
    const std::string what = e.what();
    throw RuntimeError(what.rfind(path, 0) == 0 ? what : path + ": " + what);  // CsvReader's "line N: ..."
  }
  return rows;
}

}  // namespace agegender
