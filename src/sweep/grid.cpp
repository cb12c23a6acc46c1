#include <algorithm>
#include <cstring>
#include <set>

#include "agegender/config.hpp"
#include "agegender/error.hpp"
#include "agegender/sweep.hpp"

namespace agegender {
using json = nlohmann::ordered_json;  // grid keys keep their file order
namespace {

std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._-+=", c)) ? c : '-';
  return out;
}

// Point names use each key's last component ("lr=0.001") unless two keys share it.
SweepPoint make_point(const std::vector<std::pair<std::string, json>>& assignment, const std::set<std::string>& ambiguous) {
  SweepPoint p;
  for (const auto& [key, value] : assignment) {
    const std::string leaf = key.substr(key.rfind('.') + 1);
    p.overrides.push_back(key + "=" + value.dump());
    p.name += (p.name.empty() ? "" : "_") + sanitize((ambiguous.count(leaf) ? key : leaf) + "=" + value_text(value));
  }
  if (p.name.empty()) p.name = "base";
  // A file name holds at most 255 bytes, and the point's name also gets "-2" (run dir collisions) and
  // ".log": a long one keeps a readable prefix and a hash of the whole, so it stays unique and stable.
  constexpr size_t kMaxName = 200;
  if (p.name.size() > kMaxName) p.name = p.name.substr(0, kMaxName - 17) + "~" + fnv1a64_hex(p.name);
  return p;
}

std::set<std::string> ambiguous_leaves(const std::vector<std::string>& keys) {
  std::set<std::string> seen, dup;
  for (const auto& k : keys) {
    const std::string leaf = k.substr(k.rfind('.') + 1);
    if (!seen.insert(leaf).second) dup.insert(leaf);
  }
  return dup;
}

}  // namespace

std::vector<SweepPoint> expand_grid(const json& grid) {
  if (!grid.is_object() || grid.empty()) throw UsageError("grid: expected a JSON object of \"key.path\": [values] or {\"runs\": [...]}");
  std::vector<SweepPoint> points;
  if (grid.contains("runs")) {
    if (grid.size() != 1 || !grid["runs"].is_array() || grid["runs"].empty()) {
      throw UsageError("grid: \"runs\" must be the only key and a non-empty list of override objects");
    }
    for (const auto& run : grid["runs"]) {
      if (!run.is_object()) throw UsageError("grid: every entry of \"runs\" must be an object of \"key.path\": value");
      std::vector<std::string> keys;
      std::vector<std::pair<std::string, json>> a;
      for (auto it = run.begin(); it != run.end(); ++it) {
        keys.push_back(it.key());
        a.emplace_back(it.key(), *it);
      }
      points.push_back(make_point(a, ambiguous_leaves(keys)));
    }
  } else {
    std::vector<std::string> keys;
    for (auto it = grid.begin(); it != grid.end(); ++it) {
      if (!it->is_array() || it->empty()) throw UsageError("grid: '" + it.key() + "' must be a non-empty list of values");
      keys.push_back(it.key());
    }
    const auto ambiguous = ambiguous_leaves(keys);
    std::vector<size_t> idx(keys.size(), 0);
    while (true) {  // odometer over the value lists, last key fastest
      std::vector<std::pair<std::string, json>> a;
      for (size_t k = 0; k < keys.size(); ++k) a.emplace_back(keys[k], grid[keys[k]][idx[k]]);
      points.push_back(make_point(a, ambiguous));
      size_t k = keys.size();
      while (k > 0 && ++idx[k - 1] == grid[keys[k - 1]].size()) idx[--k] = 0;
      if (k == 0) break;
    }
  }
  std::set<std::string> names;
  for (const auto& p : points) {
    if (!names.insert(p.name).second) throw UsageError("grid: two points are both named '" + p.name + "'");
  }
  return points;
}

}  // namespace agegender
