#include "agegender/split.hpp"

#include <cmath>
#include <map>
#include <random>
#include <sstream>

#include "agegender/binning.hpp"
#include "agegender/error.hpp"

namespace agegender {

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
  }
  return "?";
}

Split parse_split(const std::string& name) {
  if (name == "train") return Split::Train;
  if (name == "val") return Split::Val;
  if (name == "test") return Split::Test;
  throw UsageError("unknown split '" + name + "' (expected train, val or test)");
}

SplitFractions SplitFractions::parse(const std::string& text) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      v.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw UsageError("--split '" + text + "': '" + item + "' is not a number");
    }
  }
  if (v.size() != 3) throw UsageError("--split '" + text + "': expected three fractions TRAIN,VAL,TEST");
  for (double x : v) {
    if (!(x >= 0.0 && x <= 1.0)) throw UsageError("--split '" + text + "': fractions must be in 0..1");
  }
  if (std::fabs(v[0] + v[1] + v[2] - 1.0) > 1e-6) throw UsageError("--split '" + text + "': fractions must sum to 1");
  return {v[0], v[1], v[2]};
}

std::vector<Split> stratified_split(const std::vector<FaceLabel>& labels,
                                    const std::vector<std::vector<size_t>>& units, const SplitFractions& f,
                                    uint64_t seed) {
  const AgeBinning strata_bins = AgeBinning::intuition();
  std::map<int, std::vector<size_t>> strata;  // stratum -> unit indices, in input order
  for (size_t u = 0; u < units.size(); ++u) {
    const FaceLabel& l = labels.at(units[u].front());
    strata[strata_bins.class_of(l.age) * 2 + l.gender].push_back(u);
  }
  std::vector<Split> out(labels.size(), Split::Train);
  const double frac[3] = {f.train, f.val, f.test};
  for (auto& [stratum, members] : strata) {
    std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(stratum));
    for (size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[rng() % i]);
    size_t total = 0;
    for (size_t u : members) total += units[u].size();
    double target[3];
    target[0] = std::round(frac[0] * static_cast<double>(total));
    target[1] = std::round(frac[1] * static_cast<double>(total));
    target[2] = static_cast<double>(total) - target[0] - target[1];
    double have[3] = {0, 0, 0};
    for (size_t u : members) {
      int best = 0;
      for (int s = 1; s < 3; ++s) {
        if (target[s] - have[s] > target[best] - have[best]) best = s;
      }
      have[best] += static_cast<double>(units[u].size());
      for (size_t i : units[u]) out[i] = static_cast<Split>(best);
    }
  }
  return out;
}

}  // namespace agegender
