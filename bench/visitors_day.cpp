// `agegender visitors` on a generated store day: count, pairwise precision/recall, gender share, age-group
// distribution against the truth, speed (real-time factor, per-stage times) and peak memory.
//   bench_visitors ARCHIVE MODEL WORK_DIR [PEOPLE=300] [easy] [seed=2026] [record|replay] [-- visitors flags...]
// `easy`: the integration test's day (640x360, large faces, one person at a time, one segment, seed 3).
// `record`: also write the day's evidence (faces, age/gender, descriptors: biometric) to WORK_DIR/day.agev;
// `replay`: run tracking, stitching and clustering on it again (seconds, not minutes; e.g. with other
// --look-distance / --stitch-gap / --same-person), scored the same way.
// The day (videos + truth.json) is generated into WORK_DIR/day once and reused while PEOPLE is unchanged;
// results go to WORK_DIR/result.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "store_day.hpp"

using namespace agegender::bench;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ARCHIVE MODEL WORK_DIR [PEOPLE=300] [easy] [seed=2026] [record|replay] [-- visitors flags...]\n",
                 argv[0]);
    return 2;
  }
  const std::string archive = argv[1], model = argv[2], work = argv[3];
  int argi = 4;
  const int people = argc > argi && std::string(argv[argi]) != "--" ? std::atoi(argv[argi++]) : 300;
  const bool easy = argc > argi && std::string(argv[argi]) == "easy";
  argi += easy;
  uint64_t seed = 2026;  // another seed: a day the defaults were not chosen on
  if (argc > argi && std::string(argv[argi]).rfind("seed=", 0) == 0) seed = std::stoull(std::string(argv[argi++]).substr(5));
  const std::string mode = argc > argi && std::string(argv[argi]) != "--" ? argv[argi++] : "";
  if (!mode.empty() && mode != "record" && mode != "replay") {
    std::fprintf(stderr, "bench_visitors: '%s': expected record, replay or --\n", mode.c_str());
    return 2;
  }
  const fs::path evidence = fs::path(work) / "day.agev";
  if (mode == "replay" && !fs::exists(evidence)) {
    std::fprintf(stderr, "bench_visitors: replay: %s does not exist (run with 'record' first)\n", evidence.c_str());
    return 2;
  }
  std::string extra;
  for (int i = argi; i < argc; ++i) {
    if (std::string(argv[i]) != "--") extra += std::string(" ") + argv[i];
  }
  const fs::path day = fs::path(work) / "day";
  StoreDayTruth truth;
  bool reuse = false;
  if (std::ifstream in(day / "truth.json"); in) {
    truth = StoreDayTruth::from_json(nlohmann::json::parse(in));
    uint64_t made_with = 2026;  // days made before seed.txt was written used 2026
    if (std::ifstream sf(day / "seed.txt"); sf) sf >> made_with;
    reuse = static_cast<int>(truth.age.size()) == people && made_with == seed;
  }
  if (!reuse && mode == "replay") {
    std::fprintf(stderr, "bench_visitors: replay: %s holds no day of %d people made with seed %llu\n", day.c_str(), people,
                 static_cast<unsigned long long>(seed));
    return 2;
  }
  if (!reuse) {
    fs::remove_all(day);
    StoreDayOptions o;
    o.archive = archive;
    o.out = day.string();
    o.people = people;
    o.segments = 2;       // 09:00 and 13:00 files per camera
    o.concurrency = 3.5;  // people in view per camera, on average
    o.seed = static_cast<unsigned>(seed);
    if (easy) {  // as tests/test_integration_visitors.cpp
      o.segments = 1, o.returning = 0.25, o.width = 640, o.height = 360, o.max_face = 150, o.easy = true, o.seed = 3;
    }
    std::fprintf(stderr, "generating a store day of %d people into %s ...\n", people, o.out.c_str());
    truth = generate_store_day(o);
    std::ofstream(day / "seed.txt") << seed << "\n";
  }
  std::fprintf(stderr, "%zu people, %zu walks, %zu videos, %.0f s of video\n", truth.age.size(), truth.appearances.size(),
               truth.videos.size(), truth.video_seconds);
  const fs::path result = fs::path(work) / "result";
  const std::string cmd = "/usr/bin/time -f 'peak_rss_kb %M' -o " + (fs::path(work) / "time.txt").string() + " " +
                          AGEGENDER_BIN + " visitors --model " + model + " --input " +
                          (mode == "replay" ? evidence : day / "videos").string() + " --out " + result.string() +
                          " --start " + truth.start + " --quiet" + extra +
                          (mode == "record" ? " --record-evidence " + evidence.string() : "");
  std::fprintf(stderr, "%s\n", cmd.c_str());
  if (std::system(cmd.c_str()) != 0) return 1;
  const DayScore s = score_day(result.string(), truth);
  std::ifstream in(result / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in);
  nlohmann::json out = {{"score", s.to_json()}, {"processing", summary["processing"]}, {"flags", extra}};
  if (fs::exists(result / "descriptors.csv")) {  // --keep-descriptors: how other thresholds would have done
    std::vector<double> th;
    for (double t = 0.30; t < 0.751; t += 0.025) th.push_back(t);
    out["same_person_sweep"] = sweep_same_person(result.string(), truth, th);
  }
  std::ifstream t(fs::path(work) / "time.txt");
  std::string key;
  long rss = 0;
  while (t >> key) {
    if (key == "peak_rss_kb") t >> rss;
  }
  out["peak_rss_mb_time"] = rss / 1024.0;
  std::printf("%s\n", out.dump(1).c_str());
  return 0;
}
