#include "visitors/day.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <regex>

#include "agegender/error.hpp"
#include "agegender/share_calibration.hpp"

namespace agegender {

double TrackFusion::frame_weight(float score, float side) {
  // Up to ~160 px a larger face carries more detail; beyond that the models see the same pixels.
  return std::max(score, 0.01f) * std::clamp(side, 16.0f, 160.0f) / 160.0;
}

void TrackFusion::add(const float* age_probs, float female_prob, float score, float side, double age) {
  const double w = frame_weight(score, side);
  if (age >= 0) years_ += w * age, years_weight_ += w;
  if (age_probs) {
    for (size_t c = 0; c < age_.size(); ++c) age_[c] += w * age_probs[c];
  }
  if (female_prob >= 0) {
    female_ += w * female_prob;
    gender_ = true;
  }
  weight_ += w;
  ++frames_;
}

std::vector<float> TrackFusion::age_probs() const {
  std::vector<float> p;
  if (weight_ <= 0) return p;
  for (double a : age_) p.push_back(static_cast<float>(a / weight_));
  return p;
}

double TrackFusion::age() const { return years_weight_ > 0 ? years_ / years_weight_ : -1.0; }

float TrackFusion::female_prob() const { return gender_ && weight_ > 0 ? static_cast<float>(female_ / weight_) : -1.0f; }

namespace {

std::vector<float> parse_numbers(const std::string& flag, const std::string& text, const char* shape) {
  std::vector<float> v;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string part = text.substr(pos, comma - pos);
    char* end = nullptr;
    const float x = std::strtof(part.c_str(), &end);
    if (part.empty() || *end != '\0' || !std::isfinite(x)) {
      throw UsageError(flag + " " + text + ": expected " + shape + " (numbers in pixels, comma-separated)");
    }
    v.push_back(x);
    pos = comma + 1;
  }
  if (v.size() != 4) throw UsageError(flag + " " + text + ": expected " + shape + " (4 numbers, got " + std::to_string(v.size()) + ")");
  return v;
}

float side_of(const float* v, float x, float y) { return (v[2] - v[0]) * (y - v[1]) - (v[3] - v[1]) * (x - v[0]); }

}  // namespace

EntryRule EntryRule::parse(const std::string& line, const std::string& roi) {
  EntryRule r;
  if (!line.empty() && !roi.empty()) throw UsageError("--line and --roi: give one of them, not both");
  if (!line.empty()) {
    const auto v = parse_numbers("--line", line, "x1,y1,x2,y2");
    if (v[0] == v[2] && v[1] == v[3]) throw UsageError("--line " + line + ": the two end points are the same point");
    r.kind_ = Kind::Line;
    std::copy(v.begin(), v.end(), r.v_);
  } else if (!roi.empty()) {
    const auto v = parse_numbers("--roi", roi, "x,y,w,h");
    if (v[2] <= 0 || v[3] <= 0) throw UsageError("--roi " + roi + ": width and height must be > 0");
    r.kind_ = Kind::Roi;
    std::copy(v.begin(), v.end(), r.v_);
  }
  return r;
}

bool EntryRule::step(bool already, bool has_prev, float px, float py, float x, float y) const {
  if (already || kind_ == Kind::None) return true;
  if (kind_ == Kind::Roi) return x >= v_[0] && y >= v_[1] && x < v_[0] + v_[2] && y < v_[1] + v_[3];
  if (!has_prev) return false;
  const float a = side_of(v_, px, py), b = side_of(v_, x, y);
  if (!(a < 0 && b >= 0)) return false;  // from the left side to the right side
  // ... and across the segment itself, not its extension: the path's ends lie on both sides of the line.
  const float d[4] = {px, py, x, y};
  const float e = side_of(d, v_[0], v_[1]), f = side_of(d, v_[2], v_[3]);
  return (e <= 0 && f >= 0) || (e >= 0 && f <= 0);
}

nlohmann::json EntryRule::to_json() const {
  if (kind_ == Kind::None) return nullptr;
  return {{"kind", kind_ == Kind::Line ? "line" : "roi"}, {"values", {v_[0], v_[1], v_[2], v_[3]}}};
}

namespace {

bool parse_stamp(int y, int mo, int d, int h, int mi, int s, long long* out) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970) return false;
  std::tm tm{};
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
  *out = static_cast<long long>(timegm(&tm));
  return true;
}

}  // namespace

DayClock DayClock::parse(const std::string& start) {
  DayClock c;
  if (start.empty()) return c;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep = 0, tail = 0;
  const int got = std::sscanf(start.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%c", &y, &mo, &d, &sep, &h, &mi, &s, &tail);
  if ((got != 6 && got != 7) || (sep != 'T' && sep != ' ') || !parse_stamp(y, mo, d, h, mi, s, &c.start)) {
    throw UsageError("--start " + start + ": expected a local date and time like 2026-11-28T09:00:00");
  }
  c.absolute = true;
  return c;
}

double DayClock::video_start(const std::string& path) const {
  static const std::regex stamp(R"((\d{4})-?(\d{2})-?(\d{2})[T_-](\d{2})[-:]?(\d{2})[-:]?(\d{2}))");
  const std::string name = std::filesystem::path(path).filename().string();
  std::smatch m;
  long long t = 0;
  if (absolute && std::regex_search(name, m, stamp) &&
      parse_stamp(std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4]), std::stoi(m[5]), std::stoi(m[6]), &t)) {
    return static_cast<double>(t - start);
  }
  return 0;
}

std::string DayClock::format(double t) const {
  char buf[64];
  if (absolute) {
    const std::time_t s = static_cast<std::time_t>(start + static_cast<long long>(std::floor(t)));
    std::tm tm{};
    gmtime_r(&s, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  } else {
    const long long s = static_cast<long long>(std::floor(std::max(t, 0.0)));
    std::snprintf(buf, sizeof buf, "+%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  }
  return buf;
}

std::string DayClock::hour(double t) const {
  if (absolute) return format(t).substr(0, 13);
  return "+" + std::to_string(static_cast<long long>(std::floor(std::max(t, 0.0) / 3600))) + "h";
}

std::vector<VisitorRecord> make_visitors(std::vector<TrackRecord>& tracks, const std::vector<int>& labels,
                                         double visit_gap) {
  std::map<int, std::vector<size_t>> by_label;
  for (size_t i = 0; i < tracks.size(); ++i) by_label[labels[i]].push_back(i);
  std::vector<VisitorRecord> out;
  for (auto& [label, members] : by_label) {
    std::sort(members.begin(), members.end(),
              [&](size_t a, size_t b) { return tracks[a].first_time < tracks[b].first_time; });
    VisitorRecord v;
    v.tracks = members;
    v.first_time = tracks[members.front()].first_time;
    double visit_end = -1e300, weight = 0, female = 0, age = 0, age_weight = 0;
    bool gender = false;
    for (size_t i : members) {
      const TrackRecord& t = tracks[i];
      if (t.first_time > visit_end + visit_gap) ++v.visits;
      visit_end = std::max(visit_end, t.last_time);
      v.last_time = std::max(v.last_time, t.last_time);
      if (v.age_probs.size() < t.age_probs.size()) v.age_probs.assign(t.age_probs.size(), 0.0f);
      for (size_t c = 0; c < t.age_probs.size(); ++c) v.age_probs[c] += static_cast<float>(t.weight * t.age_probs[c]);
      if (t.female_prob >= 0) {
        female += t.weight * t.female_prob;
        gender = true;
      }
      if (t.age >= 0) age += t.weight * t.age, age_weight += t.weight;
      weight += t.weight;
    }
    for (float& p : v.age_probs) p = weight > 0 ? static_cast<float>(p / weight) : 0.0f;
    v.age = age_weight > 0 ? age / age_weight : -1.0;
    v.female_prob = gender && weight > 0 ? static_cast<float>(female / weight) : -1.0f;
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const VisitorRecord& a, const VisitorRecord& b) { return a.first_time < b.first_time; });
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].id = static_cast<int>(i) + 1;
    for (size_t t : out[i].tracks) tracks[t].visitor = out[i].id;
  }
  return out;
}

AgeAnswer age_answer(const std::vector<float>& probs, const std::vector<std::string>& names,
                     const std::vector<double>& class_mean_age, double age) {
  AgeAnswer a;
  if (probs.empty() || probs.size() != names.size()) return a;
  const size_t best = static_cast<size_t>(std::max_element(probs.begin(), probs.end()) - probs.begin());
  a.group = names[best];
  a.prob = probs[best];
  if (age >= 0) {
    a.age = age;
  } else {
    for (size_t c = 0; c < probs.size() && c < class_mean_age.size(); ++c) a.age += probs[c] * class_mean_age[c];
  }
  return a;
}

std::string gender_answer(float female_prob) {
  if (female_prob < 0) return "";
  return female_prob >= 0.5f ? "female" : "male";
}

nlohmann::json day_summary(const std::vector<TrackRecord>& tracks, const std::vector<VisitorRecord>& visitors,
                           const DayInfo& info) {
  using nlohmann::json;
  auto empty_table = [&] {
    json t = json::object();
    for (const auto& g : info.age_groups) t[g] = {{"male", 0}, {"female", 0}};
    return t;
  };
  json age_gender = empty_table(), gender = {{"male", 0}, {"female", 0}, {"unknown", 0}}, ages = json::object();
  for (const auto& g : info.age_groups) ages[g] = 0;
  // Counting each visitor's most likely group drains the groups the model is least sure of (13-19 into
  // 20-29, say); the mean of the visitors' probabilities estimates the day's distribution without that.
  std::vector<double> expected(info.age_groups.size(), 0.0), variance = expected;
  const std::vector<double>& weights =
      info.age_share_weights.size() == expected.size() ? info.age_share_weights : std::vector<double>{};
  // The female share likewise: the mean of the visitors' calibrated P(female), with its standard error.
  double female_expected = 0, female_variance = 0;
  int with_gender = 0;
  std::map<std::string, json> hours;
  int returning = 0, visits = 0;
  for (const auto& v : visitors) {
    const std::string g = gender_answer(v.female_prob);
    if (!g.empty()) {
      const double q = reweighted_female(v.female_prob, info.gender_share_weights);
      female_expected += q, female_variance += q * (1 - q), ++with_gender;
    }
    const AgeAnswer a = age_answer(v.age_probs, info.age_groups, info.class_mean_age);
    gender[g.empty() ? "unknown" : g] = gender[g.empty() ? "unknown" : g].get<int>() + 1;
    if (!a.group.empty()) ages[a.group] = ages[a.group].get<int>() + 1;
    if (v.age_probs.size() == expected.size()) {
      // Shares take the model's share calibration; a visitor's own answer (above) does not.
      const std::vector<double> q = reweighted(v.age_probs.data(), static_cast<int>(expected.size()), weights);
      for (size_t k = 0; k < expected.size(); ++k) expected[k] += q[k], variance[k] += q[k] * (1 - q[k]);
    }
    json& h = hours[info.clock.hour(v.first_time)];
    if (h.is_null()) h = {{"hour", info.clock.hour(v.first_time)}, {"visitors", 0}, {"male", 0}, {"female", 0}, {"age_gender", empty_table()}};
    h["visitors"] = h["visitors"].get<int>() + 1;
    if (!g.empty()) h[g] = h[g].get<int>() + 1;
    if (!g.empty() && !a.group.empty()) {
      age_gender[a.group][g] = age_gender[a.group][g].get<int>() + 1;
      h["age_gender"][a.group][g] = h["age_gender"][a.group][g].get<int>() + 1;
    }
    returning += v.visits >= 2;
    visits += v.visits;
  }
  json per_hour = json::array();
  for (auto& [label, h] : hours) per_hour.push_back(std::move(h));
  const double n = std::max<size_t>(visitors.size(), 1);
  json shares = {{"female", gender["female"].get<int>() / n}, {"male", gender["male"].get<int>() / n}};
  json age_shares = json::object();
  for (const auto& g : info.age_groups) age_shares[g] = ages[g].get<int>() / n;
  // The standard error of each expected share against the day's true share, from the probabilities alone
  // (a calibrated model's visitor is in group k with probability q_k): sqrt(sum q_k (1 - q_k)) / n.
  // Measured on days drawn from the test crops, it matches the spread of the true error (docs/visitors.md).
  json expected_shares = json::object(), expected_se = json::object();
  for (size_t k = 0; k < expected.size(); ++k) {
    expected_shares[info.age_groups[k]] = expected[k] / n;
    expected_se[info.age_groups[k]] = std::sqrt(variance[k]) / n;
  }
  // null without a gender head (no visitor has a gender answer).
  const double ng = std::max(with_gender, 1);
  const json gender_expected = with_gender ? json{{"female", female_expected / ng}, {"male", 1 - female_expected / ng}} : json(nullptr);
  const json gender_expected_se = with_gender ? json{{"female", std::sqrt(female_variance) / ng}} : json(nullptr);
  json s = {{"unique_visitors", visitors.size()},
            {"returning_visitors", returning},
            {"visits", visits},
            {"tracks", tracks.size()},
            {"cameras", json::array()},
            {"first_seen", visitors.empty() ? json(nullptr) : json(info.clock.format(visitors.front().first_time))},
            {"gender", gender},
            {"gender_share", shares},
            {"gender_share_expected", gender_expected},
            {"gender_share_expected_se", gender_expected_se},
            {"gender_share_calibrated", info.gender_share_weights.size() == 2},
            {"age_groups", ages},
            {"age_share", age_shares},
            {"age_share_expected", expected_shares},
            {"age_share_expected_se", expected_se},
            {"age_share_calibrated", !weights.empty()},
            {"age_gender", age_gender},
            {"per_hour", per_hour},
            {"times", info.clock.absolute ? "local" : "offsets from the first frame"},
            {"processing", info.processing}};
  std::map<std::string, int> per_camera;
  for (const auto& t : tracks) per_camera[t.video] += 1;
  for (const auto& [video, count] : per_camera) s["cameras"].push_back({{"video", video}, {"tracks", count}});
  if (info.entries.active()) {
    s["entry_rule"] = info.entries.to_json();
    s["entries"] = tracks.size();  // only tracks that entered are counted
  }
  return s;
}

}  // namespace agegender
