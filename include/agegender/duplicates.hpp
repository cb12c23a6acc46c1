#pragma once
// Byte-identical duplicate detection.
#include <string_view>
#include <vector>

namespace agegender {

/// Groups of indices whose contents are byte-identical (only groups of two or more, members ascending,
/// groups ordered by their first member). Hashes first, then confirms with a full comparison.
std::vector<std::vector<size_t>> find_duplicate_groups(const std::vector<std::string_view>& contents);

}  // namespace agegender
