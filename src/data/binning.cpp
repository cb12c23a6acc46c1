#include "agegender/binning.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "agegender/error.hpp"
#include "agegender/utkface.hpp"

namespace agegender {

AgeBinning::AgeBinning(std::vector<int> edges, std::string strategy)
    : edges_(std::move(edges)), strategy_(std::move(strategy)) {
  if (edges_.empty() || edges_.front() != 0) throw UsageError("age bin edges must start at 0");
  for (size_t i = 1; i < edges_.size(); ++i) {
    if (edges_[i] <= edges_[i - 1]) throw UsageError("age bin edges must be strictly increasing");
  }
  if (edges_.back() > kMaxAge) throw UsageError("age bin edges must be <= 116");
}

AgeBinning AgeBinning::bin10() { return AgeBinning({0, 10, 20, 30, 40, 50, 60, 70, 80, 90}, "bin10"); }

AgeBinning AgeBinning::intuition() { return AgeBinning({0, 3, 13, 20, 30, 45, 60}, "intuition"); }

AgeBinning AgeBinning::balanced(const std::vector<int>& train_ages, int k) {
  if (k < 2) throw UsageError("balanced binning needs at least 2 classes, got " + std::to_string(k));
  if (train_ages.empty()) throw UsageError("balanced binning needs training ages, the train split is empty");
  // Histogram, then greedily close a bin once it holds its share of the remaining images. Ages are
  // discrete, so bins cannot be exactly equal; a one-pass greedy keeps every bin non-empty.
  std::map<int, long> hist;
  for (int a : train_ages) hist[a]++;
  std::vector<int> edges{0};
  long remaining = static_cast<long>(train_ages.size());
  long in_bin = 0;
  int bins_left = k;
  for (auto it = hist.begin(); it != hist.end(); ++it) {
    in_bin += it->second;
    const auto next = std::next(it);
    if (next == hist.end() || bins_left == 1) continue;
    const double target = static_cast<double>(remaining) / bins_left;
    const long with_next = in_bin + next->second;
    // Close here if adding the next age overshoots the target by more than stopping now undershoots it.
    if (in_bin >= target || (with_next - target) > (target - in_bin)) {
      edges.push_back(next->first);
      remaining -= in_bin;
      in_bin = 0;
      --bins_left;
    }
  }
  return AgeBinning(edges, "balanced");
}

AgeBinning AgeBinning::by_name(const std::string& name, const std::vector<int>& train_ages, int k) {
  if (name == "bin10") return bin10();
  if (name == "intuition") return intuition();
  if (name == "balanced") return balanced(train_ages, k);
  throw UsageError("unknown age binning '" + name + "' (expected bin10, balanced, intuition or {\"edges\": [...]})");
}

AgeBinning AgeBinning::parse(const std::string& text, const std::vector<int>& train_ages, int k, const std::string& what) {
  const std::string expected = " (expected bin10, balanced, intuition or {\"edges\": [0, ...]} with increasing ages 0..116)";
  if (text == "bin10" || text == "intuition" || text == "balanced") return by_name(text, train_ages, k);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.size() != 1 || !j.contains("edges") || !j["edges"].is_array()) {
    throw UsageError(what + " '" + text + "'" + expected);
  }
  std::vector<int> edges;
  for (const auto& e : j["edges"]) {
    if (!e.is_number_integer()) throw UsageError(what + " '" + text + "': edge " + e.dump() + " is not an integer age" + expected);
    edges.push_back(e.get<int>());
  }
  if (edges.size() < 2) throw UsageError(what + " '" + text + "': at least two edges are needed" + expected);
  try {
    return AgeBinning(edges, "custom");
  } catch (const UsageError& e) {
    throw UsageError(what + " '" + text + "': " + e.what() + expected);
  }
}

int AgeBinning::class_of(int age) const {
  const auto it = std::upper_bound(edges_.begin(), edges_.end(), age);
  return std::max(0, static_cast<int>(it - edges_.begin()) - 1);
}

std::string AgeBinning::class_name(int cls) const {
  const int lo = edges_.at(static_cast<size_t>(cls));
  if (cls + 1 == num_classes()) return std::to_string(lo) + "+";
  const int hi = edges_[static_cast<size_t>(cls) + 1] - 1;
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

std::vector<std::string> AgeBinning::class_names() const {
  std::vector<std::string> names;
  for (int c = 0; c < num_classes(); ++c) names.push_back(class_name(c));
  return names;
}

}  // namespace agegender
