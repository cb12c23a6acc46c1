// visitors: a day's evidence written by --record-evidence and replayed (evidence.hpp), plain C++.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agegender/error.hpp"
#include "test_util.hpp"
#include "visitors/evidence.hpp"

using namespace agegender;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kGroups = {"0-12", "13-39", "40+"};

// Keeps what it is given, as text, in order.
class Collect : public EvidenceSink {
 public:
  std::vector<std::string> events;
  std::vector<FrameEvidence> frames;
  void start_camera(const std::string& name, double fps) override { events.push_back("start " + name + " " + std::to_string(fps)); }
  void track_frame(const FrameEvidence& f) override {
    events.push_back("frame " + std::to_string(f.frame));
    frames.push_back(f);
  }
  void end_camera() override { events.push_back("end"); }
};

FaceEvidence face(float x, float score, float female, float age = 27.25f) {
  FaceEvidence f;
  f.box = {x, 20, 64, 70};
  f.score = score;
  f.age_probs = {0.1f, 0.7f, 0.2f};
  f.female_prob = female;
  f.age = age;
  for (int i = 0; i < 128; ++i) f.descriptor.push_back(0.01f * static_cast<float>(i) - x / 1000);
  return f;
}

// Two cameras: the first with a frame of two faces, an empty frame and an undecodable one; then an input
// that could not be opened (frame -1, outside any camera); the second with one face.
void write_day(const std::string& path) {
  EvidenceWriter w(path, kGroups);
  w.start_camera("cam1_20261128-090000.mp4", 10);
  w.frame({0, false, {face(100, 0.9f, 0.8f), face(400, 0.4f, -1, -1)}});
  w.frame({2, false, {}});
  w.frame({4, true, {}});
  w.end_camera();
  w.frame({-1, false, {}});
  w.start_camera("frames/cam2", 12.5);
  w.frame({0, false, {face(250, 0.7f, 0.1f)}});
  w.end_camera();
  w.commit();
}

void expect_same(const FaceEvidence& a, const FaceEvidence& b) {
  EXPECT_EQ(a.box.x, b.box.x);
  EXPECT_EQ(a.box.y, b.box.y);
  EXPECT_EQ(a.box.w, b.box.w);
  EXPECT_EQ(a.box.h, b.box.h);
  EXPECT_EQ(a.score, b.score);
  EXPECT_EQ(a.age_probs, b.age_probs);
  EXPECT_EQ(a.female_prob, b.female_prob);
  EXPECT_EQ(a.age, b.age);
  EXPECT_EQ(a.descriptor, b.descriptor);
}

std::string replay_error(const std::string& path, const std::vector<std::string>& groups = kGroups) {
  Collect c;
  try {
    replay_evidence(path, groups, c);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(VisitorsEvidence, ADayReplaysExactlyAsRecorded) {
  agegender::test::TempDir dir;
  const std::string path = dir.str("day.agev");
  write_day(path);
  Collect c;
  EXPECT_EQ(replay_evidence(path, kGroups, c), 5u);
  EXPECT_EQ(c.events, (std::vector<std::string>{"start cam1_20261128-090000.mp4 10.000000", "frame 0", "frame 2", "frame 4",
                                                "end", "frame -1", "start frames/cam2 12.500000", "frame 0", "end"}));
  ASSERT_EQ(c.frames.size(), 5u);
  ASSERT_EQ(c.frames[0].faces.size(), 2u);
  expect_same(c.frames[0].faces[0], face(100, 0.9f, 0.8f));
  expect_same(c.frames[0].faces[1], face(400, 0.4f, -1, -1));
  EXPECT_FALSE(c.frames[1].error);
  EXPECT_TRUE(c.frames[2].error);
  ASSERT_EQ(c.frames[4].faces.size(), 1u);
  expect_same(c.frames[4].faces[0], face(250, 0.7f, 0.1f));
}

// Files recorded before the per-face age (AGEV0001) still replay: their faces have no age (-1), and
// visitors takes the age from the groups as it did then.
TEST(VisitorsEvidence, VersionOneFilesReplayWithoutAges) {
  agegender::test::TempDir dir;
  const std::string path = dir.str("v1.agev");
  {
    std::ofstream out(path, std::ios::binary);
    auto put = [&](const auto& v) { out.write(reinterpret_cast<const char*>(&v), sizeof v); };
    auto str = [&](const std::string& t) {
      put(static_cast<uint32_t>(t.size()));
      out << t;
    };
    out << "AGEV0001";
    put(static_cast<uint32_t>(kGroups.size()));
    for (const auto& g : kGroups) str(g);
    out << 'C';
    str("cam1.mp4");
    put(10.0);
    const FaceEvidence f = face(100, 0.9f, 0.8f);
    out << 'F';
    put(int64_t{3});
    put(uint8_t{0});
    put(uint32_t{1});
    for (float v : {f.box.x, f.box.y, f.box.w, f.box.h, f.score}) put(v);
    put(static_cast<uint32_t>(f.age_probs.size()));
    for (float v : f.age_probs) put(v);
    put(f.female_prob);
    put(static_cast<uint32_t>(f.descriptor.size()));
    for (float v : f.descriptor) put(v);
    out << 'E' << 'Z';
  }
  Collect c;
  ASSERT_EQ(replay_evidence(path, kGroups, c), 1u);
  ASSERT_EQ(c.frames[0].faces.size(), 1u);
  expect_same(c.frames[0].faces[0], face(100, 0.9f, 0.8f, -1));
}

TEST(VisitorsEvidence, NothingIsLeftBehindWithoutCommit) {
  agegender::test::TempDir dir;
  {
    EvidenceWriter w(dir.str("day.agev"), kGroups);
    w.start_camera("cam1.mp4", 10);
    w.frame({0, false, {face(100, 0.9f, 0.8f)}});
  }  // a run that failed: no commit
  EXPECT_TRUE(fs::is_empty(dir.path())) << "neither the file nor its temp file";
}

TEST(VisitorsEvidence, BadFilesAreRefusedWithTheirName) {
  agegender::test::TempDir dir;
  const std::string good = dir.str("day.agev");
  write_day(good);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Cut anywhere after the header: never a shorter day, always an error.
  for (size_t cut : {bytes.size() - 1, bytes.size() / 2, size_t{40}}) {
    const std::string p = dir.str("cut" + std::to_string(cut) + ".agev");
    std::ofstream(p, std::ios::binary) << bytes.substr(0, cut);
    const std::string e = replay_error(p);
    EXPECT_NE(e.find(p), std::string::npos) << e;
    EXPECT_NE(e.find("cut short"), std::string::npos) << e;
  }
  const std::string other = dir.str("other.agev");
  std::ofstream(other, std::ios::binary) << "frame,x,y\n0,1,2\n";
  EXPECT_NE(replay_error(other).find("no evidence header"), std::string::npos);
  // Recorded with another model's age groups: the probabilities would be read as the wrong classes.
  const std::string e = replay_error(good, {"0-12", "13+"});
  EXPECT_NE(e.find("[0-12,13-39,40+]"), std::string::npos) << e;
  EXPECT_NE(replay_error(dir.str("missing.agev")).find("cannot read"), std::string::npos);
  // Faces whose lists do not fit the header (a damaged file): refused, not read past their end.
  FaceEvidence few_ages = face(100, 0.9f, 0.8f), short_descriptor = few_ages, aged = few_ages;
  few_ages.age_probs = {0.5f, 0.5f};
  short_descriptor.descriptor.resize(64);
  aged.age = 1e6f;
  for (const auto& [bad, why] : {std::pair{few_ages, "2 age probabilities"}, std::pair{short_descriptor, "a descriptor of 64"},
                                 std::pair{aged, "a face aged 1000000"}}) {
    const std::string p = dir.str("bad.agev");
    EvidenceWriter w(p, kGroups);
    w.start_camera("cam1.mp4", 10);
    w.frame({0, false, {bad}});
    w.end_camera();
    w.commit();
    const std::string err = replay_error(p);
    EXPECT_NE(err.find(why), std::string::npos) << err;
  }
}
