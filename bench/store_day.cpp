#include "store_day.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <random>
#include <set>
#include <sstream>

#include "agegender/csv.hpp"
#include "agegender/dataset_source.hpp"
#include "agegender/duplicates.hpp"
#include "agegender/error.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/split.hpp"
#include "agegender/utkface.hpp"
#include "scene_paint.hpp"
#include "visitors/cluster.hpp"

namespace agegender::bench {
namespace fs = std::filesystem;

void Appearance::centre(long frame, double* x, double* y) const {
  const double t = last_frame > first_frame ? static_cast<double>(frame - first_frame) / (last_frame - first_frame) : 0;
  *x = x0 + (x1 - x0) * t;
  *y = y0 + (y1 - y0) * t;
}

nlohmann::json StoreDayTruth::to_json() const {
  nlohmann::json people = nlohmann::json::array(), apps = nlohmann::json::array();
  for (size_t p = 0; p < age.size(); ++p) people.push_back({{"person", p}, {"age", age[p]}, {"gender", gender_name(gender[p])}, {"crop", crop[p]}});
  for (const auto& a : appearances) {
    apps.push_back({{"person", a.person}, {"camera", a.camera}, {"segment", a.segment}, {"video", a.video},
                    {"first_frame", a.first_frame}, {"last_frame", a.last_frame}, {"x0", a.x0}, {"y0", a.y0}, {"x1", a.x1},
                    {"y1", a.y1}, {"s0", a.s0}, {"s1", a.s1}});
  }
  return {{"start", start}, {"videos", videos}, {"people", people}, {"appearances", apps}, {"video_seconds", video_seconds}};
}

StoreDayTruth StoreDayTruth::from_json(const nlohmann::json& j) {
  StoreDayTruth t;
  t.start = j.at("start");
  t.videos = j.at("videos").get<std::vector<std::string>>();
  for (const auto& p : j.at("people")) {
    t.age.push_back(p.at("age"));
    t.gender.push_back(p.at("gender") == "female" ? 1 : 0);
    t.crop.push_back(p.at("crop"));
  }
  for (const auto& a : j.at("appearances")) {
    Appearance x;
    x.person = a.at("person"), x.camera = a.at("camera"), x.segment = a.at("segment"), x.video = a.at("video");
    x.first_frame = a.at("first_frame"), x.last_frame = a.at("last_frame");
    x.x0 = a.at("x0"), x.y0 = a.at("y0"), x.x1 = a.at("x1"), x.y1 = a.at("y1"), x.s0 = a.at("s0"), x.s1 = a.at("s1");
    t.appearances.push_back(x);
  }
  t.video_seconds = j.value("video_seconds", 0.0);
  return t;
}

namespace {

struct Person {
  std::string name;
  FaceLabel label;
  cv::Mat crop;
};

// `count` distinct people from the test split (one member per duplicate group), shuffled.
std::vector<Person> pick_people(const std::string& archive, int count, std::mt19937& rng) {
  const SplitCrops crops = split_crops(archive, {Split::Test});
  std::vector<size_t> test(crops.files.size());
  for (size_t i = 0; i < test.size(); ++i) test[i] = i;
  if (static_cast<int>(test.size()) < count) throw RuntimeError("store day: only " + std::to_string(test.size()) + " test crops");
  std::shuffle(test.begin(), test.end(), rng);
  std::vector<Person> people;
  for (size_t i = 0; i < test.size() && static_cast<int>(people.size()) < count; ++i) {
    Person p;
    std::string err;
    if (!decode_bgr(crops.files[test[i]]->bytes, &p.crop, &err)) continue;
    p.name = crops.files[test[i]]->name;
    p.label = crops.labels[test[i]];
    people.push_back(std::move(p));
  }
  return people;
}

std::string stamp(int segment) { return segment == 0 ? "20261128-090000" : "20261128-130000"; }

}  // namespace

StoreDayTruth generate_store_day(const StoreDayOptions& o) {
  std::mt19937 rng(o.seed);
  auto uni = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  const std::vector<Person> people = pick_people(o.archive, o.people, rng);
  StoreDayTruth truth;
  for (const auto& p : people) {
    truth.age.push_back(p.label.age);
    truth.gender.push_back(p.label.gender);
    truth.crop.push_back(p.name);
  }
  const double W = o.width, H = o.height;
  const int min_face = o.easy ? std::max(o.min_face, 100) : o.min_face;
  auto walk = [&](int person, int camera, int segment) {
    Appearance a;
    a.person = person, a.camera = camera, a.segment = segment;
    a.s0 = std::exp(uni(std::log(min_face), std::log(o.max_face)));
    a.s1 = std::clamp(a.s0 * (o.easy ? 1.0 : uni(0.75, 1.33)), static_cast<double>(min_face), static_cast<double>(o.max_face));
    const bool right = uni(0, 1) < 0.5;
    const double left_x = uni(0.05, 0.25) * W + a.s0 / 2, right_x = uni(0.75, 0.95) * W - a.s1 / 2;
    a.x0 = right ? left_x : right_x;
    a.x1 = right ? right_x : left_x;
    a.y0 = uni(0.25, 0.75) * H;
    a.y1 = std::clamp(a.y0 + uni(-0.1, 0.1) * H, a.s1, H - a.s1);
    a.last_frame = static_cast<long>(std::round(uni(3, o.easy ? 3.5 : 6) * o.fps));  // length for now
    return a;
  };
  std::vector<Appearance> apps;
  for (int p = 0; p < static_cast<int>(people.size()); ++p) {
    const int segment = o.segments > 1 && uni(0, 1) < 0.4 ? 1 : 0;
    apps.push_back(walk(p, static_cast<int>(rng() % o.cameras), segment));
  }
  const int returning = static_cast<int>(std::round(o.returning * people.size()));
  for (int p = 0; p < returning; ++p) {  // the first people are random (shuffled), so take them
    const Appearance& first = apps[static_cast<size_t>(p)];
    const bool later = o.segments > 1 && first.segment == 0 && uni(0, 1) < 0.5;
    const int camera = later ? static_cast<int>(rng() % o.cameras) : (first.camera + 1) % std::max(o.cameras, 2);
    apps.push_back(walk(p, camera % o.cameras, later ? 1 : first.segment));
  }
  // Place the walks in time, per video (camera x segment): one after another when easy, else at random
  // times in a video long enough for the wanted mean number of people in view.
  for (int s = 0; s < o.segments; ++s) {
    std::vector<std::vector<Appearance*>> cams(static_cast<size_t>(o.cameras));
    for (auto& a : apps) {
      if (a.segment == s) cams[static_cast<size_t>(a.camera)].push_back(&a);
    }
    long frames = 0;
    for (auto& list : cams) {
      long busy = 0;
      for (auto* a : list) {
        busy += a->last_frame + static_cast<long>(o.fps);
        frames = std::max(frames, a->last_frame + static_cast<long>(4 * o.fps));  // the longest walk fits
      }
      frames = std::max(frames, static_cast<long>(busy / (o.easy ? 1.0 : o.concurrency)) + static_cast<long>(4 * o.fps));
    }
    for (int c = 0; c < o.cameras; ++c) {
      long t = static_cast<long>(o.fps);  // a second without anyone first
      for (auto* a : cams[static_cast<size_t>(c)]) {
        const long length = a->last_frame;
        a->first_frame = o.easy ? t : static_cast<long>(uni(o.fps, static_cast<double>(frames - length - 2 * o.fps)));
        a->last_frame = a->first_frame + length;
        t = a->last_frame + static_cast<long>(uni(0.5, 1.5) * o.fps);
        a->video = "cam" + std::to_string(c + 1) + "_" + stamp(s) + ".mp4";
      }
      if (o.easy) frames = std::max(frames, t + static_cast<long>(o.fps));
    }
    fs::create_directories(fs::path(o.out) / "videos");
    for (int c = 0; c < o.cameras; ++c) {
      const std::string name = "cam" + std::to_string(c + 1) + "_" + stamp(s) + ".mp4";
      truth.videos.push_back(name);
      cv::VideoWriter vw((fs::path(o.out) / "videos" / name).string(), cv::VideoWriter::fourcc('m', 'p', '4', 'v'), o.fps,
                         cv::Size(o.width, o.height));
      if (!vw.isOpened()) throw RuntimeError("store day: cannot write " + name);
      const cv::Mat bg = shop_background(o.width, o.height, rng);
      const cv::Rect pillar(static_cast<int>(0.58 * W), 0, static_cast<int>(0.035 * W), o.height);
      std::vector<const Appearance*> list(cams[static_cast<size_t>(c)].begin(), cams[static_cast<size_t>(c)].end());
      std::map<const Appearance*, std::pair<double, double>> light;  // brightness at start and end of the walk
      std::map<const Appearance*, int> occluded;                      // 0 none, else which frame window
      for (const auto* a : list) {
        light[a] = o.easy ? std::make_pair(1.0, 1.0) : std::make_pair(uni(0.6, 1.3), uni(0.6, 1.3));
        occluded[a] = !o.easy && uni(0, 1) < 0.25 ? 1 : 0;
      }
      cv::Mat frame;
      for (long f = 0; f < frames; ++f) {
        bg.copyTo(frame);
        std::vector<const Appearance*> now;
        for (const auto* a : list) {
          if (f >= a->first_frame && f <= a->last_frame) now.push_back(a);
        }
        // Smaller (farther) faces first: nearer people cover them where paths cross.
        std::sort(now.begin(), now.end(), [](const Appearance* a, const Appearance* b) { return a->s0 + a->s1 < b->s0 + b->s1; });
        for (const auto* a : now) {
          const double t = static_cast<double>(f - a->first_frame) / std::max(1L, a->last_frame - a->first_frame);
          double x, y;
          a->centre(f, &x, &y);
          const int side = static_cast<int>(std::round(a->s0 + (a->s1 - a->s0) * t));
          const auto [l0, l1] = light.at(a);
          // A shelf edge covers the lower part of an occluded walker's face for a while.
          paste_face(frame, people[static_cast<size_t>(a->person)].crop, x, y, side, l0 + (l1 - l0) * t,
                     occluded.at(a) && t > 0.3 && t < 0.6);
        }
        if (!o.easy) frame(pillar).setTo(cv::Scalar(60, 60, 70));  // people walking behind it vanish briefly
        vw.write(frame);
      }
      truth.video_seconds += frames / o.fps;
    }
  }
  truth.appearances = apps;
  std::ofstream(fs::path(o.out) / "truth.json") << truth.to_json().dump(1) << "\n";
  return truth;
}

nlohmann::json DayScore::to_json() const {
  return {{"true_people", true_people}, {"visitors", visitors}, {"count_error", count_error}, {"tracks", tracks},
          {"matched_tracks", matched_tracks}, {"people_tracked", people_tracked}, {"pair_precision", pair_precision}, {"pair_recall", pair_recall},
          {"walk_precision", walk_precision}, {"walk_recall", walk_recall},
          {"true_female_share", true_female}, {"found_female_share", found_female},
          {"found_female_share_expected", found_female_expected}, {"judged_female_share", judged_female},
          {"age_mae", age_mae[0]}, {"age_mae_0_12", age_mae[1]}, {"age_mae_60_plus", age_mae[2]}, {"age_tv", age_tv},
          {"age_tv_expected", age_tv_expected}, {"gender_accuracy", gender_accuracy}};
}

namespace {

std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw RuntimeError("cannot read " + path);
  CsvReader r(in);
  std::vector<std::string> header, fields;
  r.next(header);
  std::vector<std::map<std::string, std::string>> rows;
  while (r.next(fields)) {
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string intuition_group(int age) {
  static const int edges[] = {3, 13, 20, 30, 45, 60};
  static const char* names[] = {"0-2", "3-12", "13-19", "20-29", "30-44", "45-59", "60+"};
  int k = 0;
  while (k < 6 && age >= edges[k]) ++k;
  return names[k];
}

}  // namespace

TrackTruth match_walks(const std::vector<std::map<std::string, std::string>>& tracks, const StoreDayTruth& truth) {
  TrackTruth m;
  for (const auto& t : tracks) {
    const std::string video = fs::path(t.at("video")).filename().string();
    const long f0 = std::stol(t.at("first_frame")), f1 = std::stol(t.at("last_frame"));
    const double tx0 = std::stod(t.at("first_x")), ty0 = std::stod(t.at("first_y"));
    const double tx1 = std::stod(t.at("last_x")), ty1 = std::stod(t.at("last_y"));
    double best = 1e300;
    int walk = -1;
    for (size_t w = 0; w < truth.appearances.size(); ++w) {
      const Appearance& a = truth.appearances[w];
      if (a.video != video || f1 < a.first_frame || f0 > a.last_frame) continue;
      double ax0, ay0, ax1, ay1;
      a.centre(std::clamp(f0, a.first_frame, a.last_frame), &ax0, &ay0);
      a.centre(std::clamp(f1, a.first_frame, a.last_frame), &ax1, &ay1);
      const double d = std::hypot(ax0 - tx0, ay0 - ty0) + std::hypot(ax1 - tx1, ay1 - ty1);
      if (d < best && d < 2 * std::max(a.s0, a.s1)) {
        best = d;
        walk = static_cast<int>(w);
      }
    }
    m.walks.push_back(walk);
    m.persons.push_back(walk < 0 ? -1 : truth.appearances[static_cast<size_t>(walk)].person);
    m.frames.push_back(std::stoi(t.at("frames")));
  }
  return m;
}

void walk_pair_scores(const std::vector<int>& labels, const std::vector<int>& walks, const std::vector<int>& frames,
                      const StoreDayTruth& truth, double* precision, double* recall) {
  std::map<int, std::pair<int, int>> best;  // walk -> (frames, label) of its longest track
  for (size_t i = 0; i < walks.size(); ++i) {
    if (walks[i] < 0) continue;
    auto it = best.find(walks[i]);
    if (it == best.end() || frames[i] > it->second.first) best[walks[i]] = {frames[i], labels[i]};
  }
  std::vector<int> l, p;
  for (const auto& [w, fl] : best) l.push_back(fl.second), p.push_back(truth.appearances[static_cast<size_t>(w)].person);
  pair_scores(l, p, precision, recall);
}

void pair_scores(const std::vector<int>& labels, const std::vector<int>& persons, double* precision, double* recall) {
  size_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    for (size_t j = i + 1; j < labels.size(); ++j) {
      const bool same_v = labels[i] == labels[j], same_p = persons[i] == persons[j];
      tp += same_v && same_p;
      fp += same_v && !same_p;
      fn += !same_v && same_p;
    }
  }
  *precision = tp + fp ? static_cast<double>(tp) / (tp + fp) : 1.0;
  *recall = tp + fn ? static_cast<double>(tp) / (tp + fn) : 1.0;
}

DayScore score_day(const std::string& out_dir, const StoreDayTruth& truth) {
  DayScore s;
  const auto tracks = read_csv(out_dir + "/tracks.csv");
  const auto visitors = read_csv(out_dir + "/visitors.csv");
  std::set<int> people;
  for (const auto& a : truth.appearances) people.insert(a.person);
  s.true_people = people.size();
  s.visitors = visitors.size();
  s.tracks = tracks.size();
  s.count_error = (static_cast<double>(s.visitors) - s.true_people) / std::max<size_t>(s.true_people, 1);
  const TrackTruth m = match_walks(tracks, truth);
  const std::vector<int>& persons = m.persons;
  std::vector<int> all_labels;
  for (const auto& t : tracks) all_labels.push_back(std::stoi(t.at("visitor")));
  walk_pair_scores(all_labels, m.walks, m.frames, truth, &s.walk_precision, &s.walk_recall);
  std::vector<std::pair<int, int>> matched;  // visitor, person
  std::vector<int> labels, matched_persons;
  for (size_t i = 0; i < tracks.size(); ++i) {
    if (persons[i] < 0) continue;
    matched.emplace_back(std::stoi(tracks[i].at("visitor")), persons[i]);
    labels.push_back(matched.back().first);
    matched_persons.push_back(persons[i]);
  }
  s.matched_tracks = matched.size();
  s.people_tracked = std::set<int>(matched_persons.begin(), matched_persons.end()).size();
  pair_scores(labels, matched_persons, &s.pair_precision, &s.pair_recall);
  // Shares: found visitors vs true people.
  std::map<std::string, double> found_age, true_age;
  double female = 0;
  for (const auto& v : visitors) {
    female += v.at("gender") == "female";
    found_age[v.at("age_group")] += 1.0 / std::max<size_t>(visitors.size(), 1);
  }
  s.found_female = female / std::max<size_t>(visitors.size(), 1);
  double tf = 0;
  for (int p : people) {
    tf += truth.gender[static_cast<size_t>(p)];
    true_age[intuition_group(truth.age[static_cast<size_t>(p)])] += 1.0 / people.size();
  }
  s.true_female = tf / std::max<size_t>(people.size(), 1);
  std::set<std::string> groups;
  for (const auto& [g, x] : found_age) groups.insert(g);
  for (const auto& [g, x] : true_age) groups.insert(g);
  for (const auto& g : groups) s.age_tv += 0.5 * std::abs(found_age[g] - true_age[g]);
  if (std::ifstream in(out_dir + "/summary.json"); in) {
    const nlohmann::json summary = nlohmann::json::parse(in);
    const nlohmann::json expected = summary.value("age_share_expected", nlohmann::json());
    if (expected.is_object()) {
      s.age_tv_expected = 0;
      for (const auto& g : groups) s.age_tv_expected += 0.5 * std::abs(expected.value(g, 0.0) - true_age[g]);
    }
    const nlohmann::json gender = summary.value("gender_share_expected", nlohmann::json());
    if (gender.is_object()) s.found_female_expected = gender.value("female", -1.0);
  }
  // Gender accuracy per visitor: against the person most of its matched tracks belong to.
  std::map<int, std::map<int, int>> votes;
  for (const auto& [v, p] : matched) ++votes[v][p];
  size_t right = 0, judged = 0, judged_female = 0;
  // The age column against the person's true age: all, children (0-12) and the elderly (60+).
  double age_err[3] = {0, 0, 0};
  size_t age_n[3] = {0, 0, 0};
  for (const auto& v : visitors) {
    const int id = std::stoi(v.at("visitor"));
    if (!votes.count(id) || v.at("gender").empty()) continue;
    const auto& m = votes[id];
    const int p = std::max_element(m.begin(), m.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
    ++judged;
    judged_female += truth.gender[static_cast<size_t>(p)] == 1;
    if (!v.at("age").empty()) {
      const int true_age = truth.age[static_cast<size_t>(p)];
      const double err = std::abs(std::stod(v.at("age")) - true_age);
      for (int band : {0, true_age <= 12 ? 1 : true_age >= 60 ? 2 : -1}) {
        if (band >= 0) age_err[band] += err, ++age_n[band];
      }
    }
    right += (v.at("gender") == "female") == (truth.gender[static_cast<size_t>(p)] == 1);
  }
  s.gender_accuracy = judged ? static_cast<double>(right) / judged : 0;
  s.judged_female = judged ? static_cast<double>(judged_female) / judged : 0;
  for (int b = 0; b < 3; ++b) s.age_mae[b] = age_n[b] ? age_err[b] / static_cast<double>(age_n[b]) : -1;
  return s;
}

nlohmann::json sweep_same_person(const std::string& out_dir, const StoreDayTruth& truth, const std::vector<double>& thresholds) {
  const auto tracks = read_csv(out_dir + "/tracks.csv");
  const auto descs = read_csv(out_dir + "/descriptors.csv");
  const TrackTruth m = match_walks(tracks, truth);
  const std::vector<int>& persons = m.persons;
  std::set<int> people;
  for (const auto& a : truth.appearances) people.insert(a.person);
  std::map<std::string, int> cameras;
  std::vector<std::vector<float>> d(tracks.size(), std::vector<float>(128));
  std::vector<ClusterItem> items;
  for (size_t i = 0; i < tracks.size(); ++i) {
    for (int k = 0; k < 128; ++k) d[i][static_cast<size_t>(k)] = std::stof(descs.at(i).at("d" + std::to_string(k)));
    const int cam = cameras.emplace(tracks[i].at("video"), static_cast<int>(cameras.size())).first->second;
    const std::string& age = tracks[i].at("age");  // empty without an age head
    items.push_back({d[i].data(), cam, std::stol(tracks[i].at("first_frame")), std::stol(tracks[i].at("last_frame")),
                     age.empty() ? 1.0f : strictness_for_age(std::stod(age))});
  }
  nlohmann::json rows = nlohmann::json::array();
  for (double th : thresholds) {
    const std::vector<int> labels = cluster_tracks(items, 128, th);
    std::vector<int> l, p;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (persons[i] >= 0) l.push_back(labels[i]), p.push_back(persons[i]);
    }
    double precision = 0, recall = 0, walk_p = 0, walk_r = 0;
    pair_scores(l, p, &precision, &recall);
    walk_pair_scores(labels, m.walks, m.frames, truth, &walk_p, &walk_r);
    const int visitors = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
    rows.push_back({{"same_person", th}, {"visitors", visitors},
                    {"count_error", (visitors - static_cast<double>(people.size())) / std::max<size_t>(people.size(), 1)},
                    {"pair_precision", precision}, {"pair_recall", recall}, {"walk_precision", walk_p}, {"walk_recall", walk_r}});
  }
  return rows;
}

}  // namespace agegender::bench
