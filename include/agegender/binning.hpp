#pragma once
// Age-group binning strategies: bin10, intuition, balanced (quantiles of the training split), custom edges.
#include <string>
#include <vector>

namespace agegender {

/// Classes are half-open age ranges [edges[i], edges[i+1]); the last class is open-ended ("90+").
/// edges[0] is always 0.
class AgeBinning {
 public:
  AgeBinning() = default;
  /// Throws UsageError unless edges start at 0 and are strictly increasing within 0..116.
  explicit AgeBinning(std::vector<int> edges, std::string strategy = "custom");

  static AgeBinning bin10();
  static AgeBinning intuition();
  /// K classes of about equal counts, from the given (training-split) ages only.
  static AgeBinning balanced(const std::vector<int>& train_ages, int k);
  /// "bin10" | "intuition" | "balanced" (needs train_ages) ; throws UsageError for other names.
  static AgeBinning by_name(const std::string& name, const std::vector<int>& train_ages = {}, int k = 7);
  /// A flag's value: "bin10" | "intuition" | "balanced" | {"edges": [0, ...]} (JSON). Throws UsageError
  /// naming `what` (e.g. "--age-bins") and what was expected.
  static AgeBinning parse(const std::string& text, const std::vector<int>& train_ages, int k, const std::string& what);

  int num_classes() const { return static_cast<int>(edges_.size()); }
  int class_of(int age) const;
  const std::vector<int>& edges() const { return edges_; }
  const std::string& strategy() const { return strategy_; }
  /// "13-19", "90+", "0-2"; a one-year class is just "5".
  std::string class_name(int cls) const;
  std::vector<std::string> class_names() const;

 private:
  std::vector<int> edges_;
  std::string strategy_;
};

}  // namespace agegender
