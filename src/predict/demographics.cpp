#include "predict/demographics.hpp"

#include <nlohmann/json.hpp>

namespace agegender {

Demographics::Demographics(std::vector<std::string> age_groups, int window_frames)
    : groups_(std::move(age_groups)), window_(std::max(1, window_frames)) {}

void Demographics::add(const std::string& age_group, const std::string& gender, long frame) {
  all_[age_group][gender]++;
  if (frame >= 0) windows_[frame / window_][age_group][gender]++;
  ++total_;
}

namespace {
long count(const std::map<std::string, std::map<std::string, long>>& c, const std::string& g, const std::string& sex) {
  const auto it = c.find(g);
  if (it == c.end()) return 0;
  const auto jt = it->second.find(sex);
  return jt == it->second.end() ? 0 : jt->second;
}
}  // namespace

std::string Demographics::render(const Counts& c) const {
  std::string s = "|age_group|male|female|total|\n|---|---|---|---|\n";
  long m_total = 0, f_total = 0;
  for (const auto& g : groups_) {
    const long m = count(c, g, "male"), f = count(c, g, "female");
    m_total += m;
    f_total += f;
    s += "|" + g + "|" + std::to_string(m) + "|" + std::to_string(f) + "|" + std::to_string(m + f) + "|\n";
  }
  s += "|total|" + std::to_string(m_total) + "|" + std::to_string(f_total) + "|" + std::to_string(m_total + f_total) + "|\n";
  return s;
}

std::string Demographics::table() const { return render(all_); }

nlohmann::json Demographics::to_json() const {
  auto counts_json = [&](const Counts& c) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& g : groups_) j[g] = {{"male", count(c, g, "male")}, {"female", count(c, g, "female")}};
    return j;
  };
  nlohmann::ordered_json j;
  j["faces"] = total_;
  j["age_groups"] = groups_;
  j["counts"] = counts_json(all_);
  if (!windows_.empty()) {
    j["window_frames"] = window_;
    j["windows"] = nlohmann::ordered_json::array();
    for (const auto& [w, c] : windows_) {
      j["windows"].push_back({{"first_frame", w * window_}, {"last_frame", (w + 1) * window_ - 1}, {"counts", counts_json(c)}});
    }
  }
  return nlohmann::json::parse(j.dump());
}

}  // namespace agegender
