#pragma once
// Seeded, stratified, duplicate-aware train/val/test split.
#include <cstdint>
#include <string>
#include <vector>

#include "agegender/utkface.hpp"

namespace agegender {

enum class Split { Train = 0, Val = 1, Test = 2 };
const char* split_name(Split s);
/// "train" | "val" | "test"; throws UsageError otherwise.
Split parse_split(const std::string& name);

struct SplitFractions {
  double train = 0.8, val = 0.1, test = 0.1;
  /// "0.8,0.1,0.1": three non-negative numbers summing to 1. Throws UsageError naming the value.
  static SplitFractions parse(const std::string& text);
};

/// Assigns every image a split. `units` partitions the image indices: all members of a unit (a group of
/// byte-identical duplicates, or one image) land in the same split. Strata are intuition age group x
/// gender of a unit's first member; within each stratum units are shuffled with `seed` and dealt to the
/// split furthest below its target share, so each stratum follows the fractions. Deterministic across
/// platforms (own Fisher-Yates on mt19937_64, no std::uniform_int_distribution).
std::vector<Split> stratified_split(const std::vector<FaceLabel>& labels,
                                    const std::vector<std::vector<size_t>>& units, const SplitFractions& f,
                                    uint64_t seed);

}  // namespace agegender
