// visitors: joining one camera's tracks that are one walk broken apart (stitch_tracks), plain C++.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "visitors/day.hpp"
#include "visitors/stitch.hpp"

using namespace agegender;

namespace {

// A track walking in a straight line from (x0, y) at t0 to (x1, y) at t1 (seconds; 10 fps frames), face
// side `side`, descriptor all `look`, one frame of evidence per 0.1 s.
TrackRecord walk(int id, double t0, double t1, float x0, float x1, float y = 300, float side = 100, float look = 0) {
  TrackRecord r;
  r.id = id;
  r.first_time = t0, r.last_time = t1;
  r.first_frame = static_cast<long>(t0 * 10 + 0.5), r.last_frame = static_cast<long>(t1 * 10 + 0.5);
  r.frames = static_cast<int>(r.last_frame - r.first_frame + 1);
  r.first_x = x0, r.last_x = x1, r.first_y = r.last_y = y;
  r.first_side = r.last_side = side;
  r.age_probs = {1, 0};
  r.female_prob = 1;
  r.weight = r.frames;
  r.descriptor.assign(128, look);
  return r;
}

// Gives `r` a path: one detection per 0.1 s along the polyline `corners` ({time, x, y}), its side
// fixed; first/last fields follow the path.
TrackRecord with_path(TrackRecord r, const std::vector<std::array<double, 3>>& corners) {
  r.path.clear();
  for (size_t c = 0; c + 1 < corners.size(); ++c) {
    const auto &p = corners[c], &q = corners[c + 1];
    const int steps = static_cast<int>((q[0] - p[0]) * 10 + 0.5);
    for (int k = (c == 0 ? 0 : 1); k <= steps; ++k) {
      const double u = steps > 0 ? static_cast<double>(k) / steps : 0;
      r.path.push_back({p[0] + u * (q[0] - p[0]), static_cast<float>(p[1] + u * (q[1] - p[1])),
                        static_cast<float>(p[2] + u * (q[2] - p[2])), r.first_side});
    }
  }
  const TrackPoint &f = r.path.front(), &l = r.path.back();
  r.first_time = f.time, r.first_x = f.x, r.first_y = f.y;
  r.last_time = l.time, r.last_x = l.x, r.last_y = l.y;
  r.first_frame = static_cast<long>(f.time * 10 + 0.5), r.last_frame = static_cast<long>(l.time * 10 + 0.5);
  return r;
}

}  // namespace

TEST(VisitorsStitch, JoinsAWalkBrokenBehindAPillar) {
  // 200 px/s; unseen from 2.0 s to 2.5 s (x 500 to 600), then seen again on the same line.
  TrackRecord a = walk(1, 0.0, 2.0, 100, 500), b = walk(2, 2.5, 4.5, 600, 1000);
  b.age_probs = {0, 1};
  b.female_prob = 0;
  b.weight = a.weight / 4;
  a.age = 30, b.age = 50;
  std::vector<TrackRecord> t = {b, a};  // any order
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 1u);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].id, 1);
  EXPECT_EQ(t[0].first_frame, 0);
  EXPECT_EQ(t[0].last_frame, 45);
  EXPECT_FLOAT_EQ(t[0].last_x, 1000);
  EXPECT_EQ(t[0].frames, 21 + 21);
  // Age and gender fused by evidence: 4 parts of the first track to 1 of the second.
  EXPECT_NEAR(t[0].age_probs[0], 0.8, 1e-5);
  EXPECT_NEAR(t[0].female_prob, 0.8, 1e-5);
  EXPECT_NEAR(t[0].age, 34, 1e-9);
  {  // A piece with an age joined to one without keeps its age.
    TrackRecord c = walk(1, 0.0, 2.0, 100, 500), d = walk(2, 2.5, 4.5, 600, 1000);
    d.age = 41;
    std::vector<TrackRecord> u = {c, d};
    ASSERT_EQ(stitch_tracks(u, 0, {}, EntryRule{}), 1u);
    EXPECT_NEAR(u[0].age, 41, 1e-9);
  }
  EXPECT_NEAR(t[0].weight, 21 * 1.25, 1e-9);
}

TEST(VisitorsStitch, AnEntryLineCrossedInTheGapCounts) {
  // The line x = 550 (drawn bottom to top: crossing it left to right is an entry) lies in the gap.
  const EntryRule line = EntryRule::parse("550,1000,550,0", "");
  TrackRecord a = walk(1, 0.0, 2.0, 100, 500), b = walk(2, 2.5, 4.5, 600, 1000);
  a.entered = b.entered = false;
  std::vector<TrackRecord> t = {a, b};
  stitch_tracks(t, 0, {}, line);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(t[0].entered);
}

TEST(VisitorsStitch, AnAbsorbedPieceAddsNoCrossingOfItsOwn) {
  // A walks right to left (no entry), ending at x = 100; a piece on its path was seen earlier, around
  // x = 600. Joining them must not read a step from A's end (100) to the piece's start (620) as a
  // crossing of the line x = 350 (drawn bottom to top: crossing it left to right is an entry).
  const EntryRule line = EntryRule::parse("350,1000,350,0", "");
  TrackRecord a = walk(1, 0.0, 4.0, 900, 100), b = walk(2, 1.4, 1.6, 620, 580, 300, 60);
  a.entered = b.entered = false;
  std::vector<TrackRecord> t = {a, b};
  EXPECT_EQ(stitch_tracks(t, 0, {}, line), 1u);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_FALSE(t[0].entered);
}

TEST(VisitorsStitch, LeavesApartTracksThatDoNotContinueEachOther) {
  const TrackRecord a = walk(1, 0.0, 2.0, 100, 500);
  const std::vector<TrackRecord> others = {
      walk(2, 2.5, 4.5, 600, 1000, 450),              // 1.5 sides below the line a was walking
      walk(3, 2.5, 4.5, 1000, 600),                   // walking back the other way
      walk(4, 4.6, 6.6, 1020, 1420),                  // on the line, but 2.6 s later (the gap is 2 s)
      walk(5, 2.5, 4.5, 600, 1000, 300, 100, 0.1f),   // on the line, but a descriptor 1.13 away
      walk(6, 2.5, 4.5, 600, 1000, 300, 250),         // on the line, but a face 2.5 times the size
  };
  for (const TrackRecord& b : others) {
    std::vector<TrackRecord> t = {a, b};
    EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 0u) << "track " << b.id;
    EXPECT_EQ(t.size(), 2u);
  }
  StitchOptions off;
  off.max_gap = 0;
  std::vector<TrackRecord> t = {a, walk(2, 2.5, 4.5, 600, 1000)};
  EXPECT_EQ(stitch_tracks(t, 0, off, EntryRule{}), 0u) << "--stitch-gap 0 turns it off";
}

TEST(VisitorsStitch, ChainsJoinAndEachPieceIsUsedOnce) {
  // Three pieces of one walk at 200 px/s, and a fourth track that starts near where the second piece
  // would continue but walks faster (340 px/s): it fits too, less well; the better fit wins and the
  // fourth stays a track of its own.
  std::vector<TrackRecord> t = {walk(1, 0.0, 1.0, 100, 300), walk(2, 1.5, 2.5, 400, 600), walk(3, 3.0, 4.0, 700, 900),
                                walk(4, 3.0, 4.0, 720, 1060)};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 2u);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].id, 1);
  EXPECT_FLOAT_EQ(t[0].last_x, 900);
  EXPECT_EQ(t[1].id, 4);
}

TEST(VisitorsStitch, APieceSeenAlongsideOnItsPathJoinsIt) {
  // A face split in two by a pillar: a short second track on the first one's path while it is seen.
  std::vector<TrackRecord> t = {walk(1, 0.0, 4.0, 100, 900), walk(2, 1.5, 2.0, 420, 500, 310, 60)};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 1u);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].last_frame, 40);
  EXPECT_EQ(t[0].frames, 41) << "frames seen by both count once";
}

TEST(VisitorsStitch, PeopleWalkingTogetherStayApart) {
  // Side by side (1.2 face sides apart) and one behind the other (1.5 sides), at the same pace.
  for (const TrackRecord& b : {walk(2, 0.5, 3.5, 200, 800, 420), walk(3, 0.5, 3.5, 50, 650)}) {
    std::vector<TrackRecord> t = {walk(1, 0.0, 4.0, 100, 900), b};
    EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 0u) << "track " << b.id;
  }
  // Crossing paths: they meet once, but the second track's ends are far off the first one's path.
  std::vector<TrackRecord> t = {walk(1, 0.0, 4.0, 100, 900), walk(2, 0.0, 4.0, 900, 100)};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 0u);
}

TEST(VisitorsStitch, OnlyTheGivenCamerasTracksAreTouched) {
  // tracks[0] belongs to an earlier camera: it would fit, but begin = 1 leaves it alone.
  std::vector<TrackRecord> t = {walk(7, 0.0, 2.0, 100, 500), walk(8, 2.5, 4.5, 600, 1000), walk(9, 0.0, 1.0, 50, 250, 600)};
  EXPECT_EQ(stitch_tracks(t, 1, {}, EntryRule{}), 0u);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].id, 7);
  EXPECT_EQ(t[1].id, 9) << "the camera's tracks in order of first appearance";
  EXPECT_EQ(t[2].id, 8);
}

TEST(VisitorsStitch, ASecondBoxIsJudgedWhereTheTrackWasAtTheSameTimes) {
  // The host crosses 1,000 px in 3 s, then its box sits at the frame's edge for 1.5 s: its mean motion
  // (222 px/s) would put it 2.8 sides behind a second box on the same face at 2.5 s (the piece stayed
  // apart before tracks kept their paths). Where it was at those times, the piece is on it.
  TrackRecord host = with_path(walk(1, 0, 1, 0, 0), {{0.0, 100, 300}, {3.0, 1100, 300}, {4.5, 1100, 300}});
  TrackRecord piece = with_path(walk(2, 0, 1, 0, 0, 300, 90), {{0.5, 270, 305}, {2.5, 930, 305}});
  std::vector<TrackRecord> t = {host, piece};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 1u);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].path.size(), host.path.size() + piece.path.size()) << "the paths merge, in time order";
  EXPECT_TRUE(std::is_sorted(t[0].path.begin(), t[0].path.end(),
                             [](const TrackPoint& a, const TrackPoint& b) { return a.time < b.time; }));
  // Someone crossing the host's path at 2 s is where the host was only at that moment.
  TrackRecord crossing = with_path(walk(3, 0, 1, 0, 0), {{1.0, 1000, 100}, {3.0, 400, 500}});
  t = {host, crossing};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 0u);
}

TEST(VisitorsStitch, AHalfFaceBesideTheTrackJoinsIt) {
  // A face cut by a pillar edge: the visible part's box is 40 % as wide, its centre a third of a side
  // off the whole face's.
  TrackRecord host = with_path(walk(1, 0, 1, 0, 0, 300, 100), {{0.0, 100, 300}, {4.0, 900, 300}});
  TrackRecord half = with_path(walk(2, 0, 1, 0, 0, 300, 40), {{1.5, 433, 300}, {2.0, 533, 300}});
  std::vector<TrackRecord> t = {host, half};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 1u);
  // A face a quarter as wide on the same spot is someone farther away (or a face in a poster), not a part.
  TrackRecord far = with_path(walk(3, 0, 1, 0, 0, 300, 25), {{1.5, 400, 300}, {2.0, 500, 300}});
  t = {host, far};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 0u);
}

TEST(VisitorsStitch, AGapIsBridgedWithTheMotionNearTheGap) {
  // The first piece began on another face (the tracker switched after 1 s), so over its whole span it
  // moved down and left; over its last second it walks right at 300 px/s, as the second piece does.
  TrackRecord a = with_path(walk(1, 0, 1, 0, 0), {{0.0, 700, 600}, {1.0, 400, 300}, {3.0, 1000, 300}});
  TrackRecord b = with_path(walk(2, 0, 1, 0, 0), {{4.0, 1300, 300}, {5.0, 1600, 300}});
  std::vector<TrackRecord> t = {a, b};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 1u);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_FLOAT_EQ(t[0].last_x, 1600);
  // Without paths, the same ends give the whole-span mean motion, which misses: they stay apart.
  a.path.clear(), b.path.clear();
  t = {a, b};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 0u);
}

TEST(VisitorsStitch, ATrackThatGoesOnAfterTheHostEndsJoinsItOnlyIfItWalksOnAsTheHostDid) {
  // The host walks right until 3 s; someone else, a little nearer, appears on its last steps at 2.8 s and
  // walks left until 5.5 s: only 3 of its 28 detections are seen while the host is.
  TrackRecord host = with_path(walk(1, 0, 1, 0, 0, 300, 100), {{0.0, 100, 300}, {3.0, 1000, 300}});
  TrackRecord other = with_path(walk(2, 0, 1, 0, 0, 300, 140), {{2.8, 960, 300}, {5.5, 200, 300}});
  std::vector<TrackRecord> t = {host, other};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 0u);
  // Judged on those 3 alone (the rule before absorb_within), it lies on the host's last steps.
  StitchOptions any_share;
  any_share.absorb_within = 0;
  t = {host, other};
  EXPECT_EQ(stitch_tracks(t, 0, any_share, EntryRule{}), 1u);
  // The same overlap walking on as the host walked is the host's face, tracked afresh before the tracker
  // let go of the old track.
  TrackRecord successor = with_path(walk(3, 0, 1, 0, 0, 300, 100), {{2.8, 940, 300}, {5.5, 1750, 300}});
  t = {host, successor};
  EXPECT_EQ(stitch_tracks(t, 0, {}, EntryRule{}), 1u);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_FLOAT_EQ(t[0].last_x, 1750);
}
