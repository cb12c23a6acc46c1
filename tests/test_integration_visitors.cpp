// `agegender visitors` end to end on a generated easy store day (UTKFace test-split crops walking across
// two cameras, made at test time, never stored), and its HTML report opened in headless Chromium.
#include <gtest/gtest.h>

#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>
#include <sstream>

#include "prepared_fixture.hpp"
#include "store_day.hpp"
#include "test_util.hpp"
#include "utkface_archive.hpp"
#include "visitors/day.hpp"
#include "visitors/day_outputs.hpp"
#include "visitors/evidence.hpp"

using namespace agegender;
namespace fs = std::filesystem;

namespace {

// Chromium renders the report (headless, no network, its own profile); the page must report "ok", no
// console error, and the totals it drew must equal summary.json's.
void expect_report_renders(const fs::path& out_dir) {
  if (std::system("command -v chromium > /dev/null 2>&1") != 0) {
    if (agegender::test::running_in_ci()) FAIL() << "chromium is not installed (CI=true: required; scripts/setup.sh installs it)";
    GTEST_SKIP() << "chromium not installed: the report is not checked in a browser (apt-get install chromium)";
  }
  agegender::test::TempDir profile;
  const std::string cmd = "chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" + profile.str("p") +
                          " --enable-logging=stderr --v=0 --dump-dom file://" + fs::absolute(out_dir / "report.html").string() +
                          " 2>" + profile.str("console.txt");
  const auto r = agegender::test::run_shell(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string dom = r.output, console = agegender::test::read_file(profile.path() / "console.txt");
  EXPECT_NE(dom.find("<span id=\"status\">ok</span>"), std::string::npos) << dom.substr(0, 2000);
  // The page logs nothing: any console line (an uncaught exception, a CSP refusal, console.error) fails.
  EXPECT_EQ(console.find(":CONSOLE"), std::string::npos) << console;
  const auto summary = nlohmann::json::parse(agegender::test::read_file(out_dir / "summary.json"));
  auto attr = [&](const std::string& name) {
    std::smatch m;
    const std::regex re("data-" + name + "=\"([0-9]+)\"");
    return std::regex_search(dom, m, re) ? std::stol(m[1]) : -1L;
  };
  long pyramid = 0;
  for (const auto& [group, g] : summary["age_gender"].items()) pyramid += g["male"].get<long>() + g["female"].get<long>();
  const long visitors = summary["unique_visitors"].get<long>();
  EXPECT_EQ(attr("hour-total"), visitors);
  EXPECT_EQ(attr("rows"), visitors);
  EXPECT_EQ(attr("pyramid-total"), pyramid);
  EXPECT_EQ(attr("returning"), summary["returning_visitors"].get<long>());
  EXPECT_NE(dom.find("<b id=\"total\">" + std::to_string(visitors) + "</b>"), std::string::npos);
  // The women KPI is the estimated female share (summary.json's gender_share_expected), the counted one beside it.
  char women[64];
  std::snprintf(women, sizeof women, "<b id=\"female-share\">%.1f %%</b>", 100 * summary["gender_share_expected"]["female"].get<double>());
  EXPECT_NE(dom.find(women), std::string::npos) << women;
  std::snprintf(women, sizeof women, "counted %.1f %%", 100 * summary["gender_share"]["female"].get<double>());
  EXPECT_NE(dom.find(women), std::string::npos) << women;
  // The visitor table has visitors.csv's age (rounded) beside the gender.
  EXPECT_NE(dom.find("<th>age</th>"), std::string::npos);
  {
    const std::string csv = agegender::test::read_file(out_dir / "visitors.csv");
    const size_t start = csv.find('\n') + 1;
    std::vector<std::string> f;
    std::stringstream row(csv.substr(start, csv.find('\n', start) - start));
    for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
    ASSERT_GE(f.size(), 9u);  // visitor,first_seen,last_seen,visits,tracks,age_group,age_prob,age,gender,...
    const double age = std::stod(f[7]);  // one decimal: the page's rounding of the unrounded age may differ by one
    bool found = false;
    for (long a : {std::lround(age - 0.05), std::lround(age + 0.05)}) {
      found = found || dom.find("<td>" + std::to_string(a) + "</td><td>" + f[8] + "</td>") != std::string::npos;
    }
    EXPECT_TRUE(found) << "age " << f[7] << " gender " << f[8];
  }
  // One row per age group with its estimated share (summary.json's age_share_expected, in percent).
  EXPECT_EQ(attr("share-rows"), static_cast<long>(summary["age_share_expected"].size()));
  for (const auto& [group, share] : summary["age_share_expected"].items()) {
    char text[32];
    std::snprintf(text, sizeof text, "<td>%.1f %%</td>", 100 * share.get<double>());
    EXPECT_NE(dom.find(text), std::string::npos) << group << ": " << text;
  }
}

}  // namespace

TEST(VisitorsReport, RendersInHeadlessChromium) {
  agegender::test::TempDir dir;
  std::vector<TrackRecord> tracks;
  for (int i = 0; i < 9; ++i) {
    TrackRecord t;
    t.camera = i % 2;
    t.video = "cam" + std::to_string(i % 2) + ".mp4";
    t.first_time = 600.0 * i, t.last_time = 600.0 * i + 5;
    t.age_probs = {i % 3 == 0 ? 0.9f : 0.1f, i % 3 == 0 ? 0.1f : 0.9f};
    t.female_prob = i % 2 ? 0.8f : 0.3f;
    t.weight = 1;
    tracks.push_back(t);
  }
  const auto visitors = make_visitors(tracks, {0, 1, 2, 3, 0, 4, 5, 6, 1}, 1800);
  DayInfo info;
  info.age_groups = {"<30 </script>", "30+"};  // a hostile class name stays inside the data
  info.class_mean_age = {20, 50};
  info.gender_share_weights = {0.9, 1.1};  // the estimated female share differs from the counted one
  info.clock = DayClock::parse("2026-11-28T09:00:00");
  const auto s = day_summary(tracks, visitors, info);
  write_day_outputs(dir.str("out"), tracks, visitors, s, info, false);
  expect_report_renders(dir.path() / "out");
}

TEST(RealUtkFace, VisitorsCountsAnEasyStoreDayExactly) {
  const std::string archive = agegender::test::utkface_path();
  REQUIRE_UTKFACE(archive);
  const std::string models = agegender::test::face_models_for_tests();
  if (!fs::exists(models + "/face_recognition_model-weights_manifest.json")) {
    if (agegender::test::running_in_ci()) FAIL() << "CI=true but the face models are missing in " << models;
    GTEST_SKIP() << "face models not in " << models << " (scripts/fetch_face_models.sh)";
  }
  agegender::test::TempDir dir;
  // Counts only: any model will do; a year head, so that each face's age is recorded and replayed too.
  const std::string model = agegender::test::train_tiny_model(dir, 64, 32, {"model.age_head=\"years\""});
  bench::StoreDayOptions o;
  o.archive = archive;
  o.out = dir.str("day");
  o.people = 8;
  o.returning = 0.25;  // two people walk past the other camera too
  o.width = 640, o.height = 360;
  o.max_face = 150;
  o.easy = true;
  o.seed = 3;
  const bench::StoreDayTruth truth = bench::generate_store_day(o);
  // Also recorded (--record-evidence, outside --out) for the replay check at the end.
  const std::string flags = " --start " + truth.start + " --detect tiny --tiny-input 416 --every 2 --threads 2 --quiet";
  const auto r = agegender::test::run_cli("visitors --model " + model + " --input " + dir.str("day/videos") + " --out " +
                                          dir.str("out") + " --models " + models + " --record-evidence " +
                                          dir.str("day.agev") + flags);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const bench::DayScore s = bench::score_day(dir.str("out"), truth);
  std::cout << "[ info     ] easy day: " << s.to_json().dump() << "\n";
  EXPECT_EQ(s.visitors, 8u) << "unique visitors";
  EXPECT_EQ(s.matched_tracks, s.tracks) << "every track is one of the walks";
  EXPECT_EQ(s.pair_precision, 1.0);
  EXPECT_EQ(s.pair_recall, 1.0);
  const auto summary = nlohmann::json::parse(agegender::test::read_file(dir.path() / "out" / "summary.json"));
  EXPECT_EQ(summary["unique_visitors"], 8);
  EXPECT_GT(summary["processing"]["frames"].get<long>(), 0);
  EXPECT_EQ(summary["processing"]["detect_size"], 0) << "--tiny-input alone means Tiny's square input";
  // The networks' large tensors came from the block cache, and after the first frames mostly from blocks
  // it already held (power-of-two face batches: few tensor sizes).
  const auto& mem = summary["processing"]["tensor_memory"];
  EXPECT_GT(mem["hits"].get<long>(), 10 * mem["misses"].get<long>()) << mem.dump();
  EXPECT_EQ(s.walk_precision, 1.0);
  EXPECT_EQ(s.walk_recall, 1.0);
  // Privacy by default: the four result files and nothing else (no crops, no descriptors).
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(dir.path() / "out")) files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"report.html", "summary.json", "tracks.csv", "visitors.csv"}));
  expect_report_renders(dir.path() / "out");

  // The recorded day replays (no video, no detector, no face models) to the very tracks and visitors of
  // the run that recorded it.
  const auto rep = agegender::test::run_cli("visitors --model " + model + " --input " + dir.str("day.agev") + " --out " +
                                            dir.str("rep") + " --models " + dir.str("no-models") + flags);
  ASSERT_EQ(rep.exit_code, 0) << rep.output;
  for (const char* f : {"tracks.csv", "visitors.csv"}) {
    EXPECT_EQ(agegender::test::read_file(dir.path() / "rep" / f), agegender::test::read_file(dir.path() / "out" / f)) << f;
  }
  {  // The year head's age of every face was recorded (the byte-for-byte match above holds without it too).
    struct Ages : EvidenceSink {
      size_t faces = 0, aged = 0;
      void start_camera(const std::string&, double) override {}
      void track_frame(const FrameEvidence& f) override {
        for (const auto& face : f.faces) faces += 1, aged += face.age >= 0 && face.age <= 116;
      }
      void end_camera() override {}
    } ages;
    const auto run_summary = nlohmann::json::parse(agegender::test::read_file(fs::path(model) / "summary.json"));
    replay_evidence(dir.str("day.agev"), run_summary["binning"]["names"].get<std::vector<std::string>>(), ages);
    EXPECT_GT(ages.faces, 0u);
    EXPECT_EQ(ages.aged, ages.faces);
  }
  const auto replayed = nlohmann::json::parse(agegender::test::read_file(dir.path() / "rep" / "summary.json"));
  EXPECT_EQ(replayed["processing"]["replayed"], true);
  EXPECT_EQ(replayed["processing"]["frames"], summary["processing"]["frames"]);
  EXPECT_EQ(replayed["processing"]["stages_seconds"]["detect"], 0);

  // --annotate writes every processed frame, with faces or without (the day has stretches without anyone).
  std::vector<std::string> videos;
  for (const auto& e : fs::directory_iterator(dir.path() / "day" / "videos")) videos.push_back(e.path().string());
  std::sort(videos.begin(), videos.end());
  const auto ann = agegender::test::run_cli("visitors --model " + model + " --input " + videos[0] + " --out " +
                                            dir.str("ann") + " --models " + models + " --annotate " + dir.str("a.mp4") +
                                            " --blur" + flags);
  ASSERT_EQ(ann.exit_code, 0) << ann.output;
  const auto ann_summary = nlohmann::json::parse(agegender::test::read_file(dir.path() / "ann" / "summary.json"));
  cv::VideoCapture cap(dir.str("a.mp4"));
  ASSERT_TRUE(cap.isOpened());
  long written = 0;
  for (cv::Mat frame; cap.read(frame);) ++written;
  EXPECT_EQ(written, ann_summary["processing"]["frames"].get<long>());
}
