#pragma once
// Faces per age group x gender (the mall client's view), overall and per frame window for video.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace agegender {

class Demographics {
 public:
  Demographics(std::vector<std::string> age_groups, int window_frames);
  void add(const std::string& age_group, const std::string& gender, long frame);
  nlohmann::json to_json() const;
  std::string table() const;  // markdown: age group rows, male/female/total columns
  long total() const { return total_; }

 private:
  using Counts = std::map<std::string, std::map<std::string, long>>;  // age group -> gender -> n
  std::string render(const Counts& c) const;
  std::vector<std::string> groups_;
  int window_;
  Counts all_;
  std::map<long, Counts> windows_;  // window index -> counts
  long total_ = 0;
};

}  // namespace agegender
