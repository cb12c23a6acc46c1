// visitors: the tracker, the day's clustering, fusion, entries, the clock and the outputs (plain C++, no
// networks); plus the command's usage errors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <tuple>

#include "agegender/error.hpp"
#include "test_util.hpp"
#include "visitors/cluster.hpp"
#include "visitors/day.hpp"
#include "visitors/day_outputs.hpp"
#include "visitors/tracker.hpp"

using namespace agegender;

namespace {

TrackDetection box_at(float cx, float cy, float side, float score = 0.9f) { return {{cx - side / 2, cy - side / 2, side, side}, score}; }

// Runs frames 0..n-1 through a tracker; `dets(f)` gives frame f's detections; returns the ids per frame.
template <typename F>
std::vector<std::vector<int>> run(Tracker& t, int n, F dets) {
  std::vector<std::vector<int>> ids;
  for (int f = 0; f < n; ++f) ids.push_back(t.update(f, dets(f)));
  return ids;
}

}  // namespace

TEST(VisitorsTracker, OnePersonWalkingIsOneTrack) {
  Tracker t;
  const auto ids = run(t, 40, [](int f) { return std::vector<TrackDetection>{box_at(100 + 12.0f * f, 300, 80)}; });
  for (const auto& v : ids) EXPECT_EQ(v[0], ids[0][0]);
  t.finish();
  const auto ended = t.take_ended();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_TRUE(ended[0].confirmed);
  EXPECT_EQ(ended[0].hits, 40);
  EXPECT_EQ(ended[0].first_frame, 0);
  EXPECT_EQ(ended[0].last_frame, 39);
}

TEST(VisitorsTracker, BridgesMissedDetectionsAndEndsAfterTheMemory) {
  TrackerOptions o;
  o.max_missed = 5;
  Tracker t(o);
  // Detected in frames 0-9, missed 10-14 (5 frames: still within memory), detected again 15-24, then gone.
  std::vector<std::vector<int>> ids;
  for (int f = 0; f < 40; ++f) {
    std::vector<TrackDetection> d;
    if (f < 10 || (f >= 15 && f < 25)) d.push_back(box_at(100 + 15.0f * f, 200 + 2.0f * f, 90));
    ids.push_back(t.update(f, d));
    if (f == 26) EXPECT_EQ(t.live(), 1u) << "still remembered 2 frames after the last detection";
  }
  EXPECT_EQ(ids[0][0], ids[15][0]) << "the gap of 5 frames is bridged by the motion model";
  EXPECT_EQ(t.live(), 0u) << "ended after more than 5 missed frames";
  const auto ended = t.take_ended();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].hits, 20);
  EXPECT_EQ(ended[0].last_frame, 24);
}

TEST(VisitorsTracker, CrossingPathsKeepTheirIdentities) {
  Tracker t;
  // A walks right, B walks left at the same height: they overlap around frame 20, and there the detector
  // sees only the front face (B) for three frames.
  std::vector<int> a_ids, b_ids;
  for (int f = 0; f < 41; ++f) {
    const float ax = 100 + 15.0f * f, bx = 700 - 15.0f * f;
    std::vector<TrackDetection> d;
    const bool a_hidden = f >= 19 && f <= 21;
    if (!a_hidden) d.push_back(box_at(ax, 300 + 0.5f * f, 100));
    d.push_back(box_at(bx, 310, 104));
    const auto ids = t.update(f, d);
    if (!a_hidden) a_ids.push_back(ids[0]);
    b_ids.push_back(ids.back());
  }
  EXPECT_EQ(std::set<int>(a_ids.begin(), a_ids.end()).size(), 1u) << "A keeps one id through the crossing";
  EXPECT_EQ(std::set<int>(b_ids.begin(), b_ids.end()).size(), 1u) << "B keeps one id through the crossing";
  EXPECT_NE(a_ids.front(), b_ids.front());
}

TEST(VisitorsTracker, UnconfirmedFlickersDoNotCount) {
  TrackerOptions o;
  o.confirm_frames = 3;
  Tracker t(o);
  // A false positive in two frames, far from a real face tracked throughout.
  run(t, 12, [](int f) {
    std::vector<TrackDetection> d{box_at(200 + 5.0f * f, 200, 80)};
    if (f == 3 || f == 4) d.push_back(box_at(900, 500, 60));
    return d;
  });
  t.finish();
  int confirmed = 0;
  for (const auto& e : t.take_ended()) confirmed += e.confirmed;
  EXPECT_EQ(confirmed, 1);
}

TEST(VisitorsTracker, WeakDetectionsOnlyExtendTracks) {
  TrackerOptions o;
  o.high_score = 0.5f;
  Tracker t(o);
  // A weak detection alone never starts a track ...
  EXPECT_EQ(t.update(0, {box_at(100, 100, 80, 0.35f)})[0], -1);
  // ... but keeps a strong track alive and in place when the face turns away.
  const int id = t.update(1, {box_at(400, 100, 80, 0.9f)})[0];
  EXPECT_EQ(t.update(2, {box_at(410, 100, 80, 0.35f)})[0], id);
  EXPECT_EQ(t.update(4, {box_at(430, 100, 80, 0.9f)})[0], id) << "frame numbers may skip (--every 2)";
}

TEST(VisitorsTracker, SomeoneElseWhereALostTrackWouldBeStartsANewTrack) {
  Tracker t;
  const std::vector<float> a = {0.5f, 0.5f, -0.5f, -0.5f}, b = {0.5f, -0.5f, 0.5f, -0.5f};  // correlation 0
  auto det = [](float x, const std::vector<float>& look) {
    TrackDetection d = box_at(x, 300, 100);
    d.look = look;
    return d;
  };
  int first = -1;
  for (int f = 0; f < 10; ++f) first = t.update(f, {det(100 + 10.0f * f, a)})[0];
  t.update(10, {});
  t.update(11, {});
  // Two frames unseen, then a face exactly where the track would be: a different look is someone else ...
  const int other = t.update(12, {det(220, b)})[0];
  EXPECT_NE(other, first);
  // ... the same look is the same person.
  EXPECT_EQ(t.update(13, {det(230, a), det(600, b)})[0], first);
}

TEST(VisitorsTracker, TwoPeopleSideBySideStayApart) {
  Tracker t;
  const auto ids = run(t, 30, [](int f) {
    return std::vector<TrackDetection>{box_at(300 + 10.0f * f, 300, 90), box_at(420 + 10.0f * f, 305, 90)};
  });
  for (const auto& v : ids) {
    EXPECT_EQ(v[0], ids[0][0]);
    EXPECT_EQ(v[1], ids[0][1]);
  }
  EXPECT_NE(ids[0][0], ids[0][1]);
}

TEST(VisitorsTracker, ASmallFastFaceIsTrackedFromItsSecondDetection) {
  Tracker t;
  // A 50 px face crossing 40 px per processed frame: 0.8 of its side, before any velocity is known.
  const auto ids = run(t, 20, [](int f) { return std::vector<TrackDetection>{box_at(100 + 40.0f * f, 300, 50)}; });
  for (const auto& v : ids) EXPECT_EQ(v[0], ids[0][0]);
  // ... but a face a whole side and a half away from a track seen once is someone else.
  Tracker u;
  const int first = u.update(0, {box_at(100, 300, 50)})[0];
  EXPECT_NE(u.update(1, {box_at(175, 300, 50)})[0], first);
}

TEST(VisitorsTracker, AFaceHalfHiddenByAPillarKeepsItsTrack) {
  Tracker t;
  const std::vector<float> whole = {0.5f, 0.5f, -0.5f, -0.5f}, half = {0.7f, 0.5f, -0.5f, -0.3f};  // 0.28 apart
  // Walking right at 15 px per frame; in frames 10-12 a pillar hides its front: the detector gives a
  // shrunken box (60, then 45 px instead of 100) that trails the face, its descriptor a little off.
  // (A longer hiding, or one that changes the look more, is for stitch_tracks: test_visitors_stitch.cpp.)
  std::vector<int> ids;
  for (int f = 0; f < 25; ++f) {
    const float x = 100 + 15.0f * f;
    const float side = f < 10 || f > 12 ? 100.0f : f == 10 ? 60.0f : 45.0f;
    TrackDetection d = box_at(x - (100 - side) / 2, 300, side);
    d.look = side == 100 ? whole : half;
    ids.push_back(t.update(f, {d})[0]);
  }
  for (int id : ids) EXPECT_EQ(id, ids[0]);
}

TEST(VisitorsTracker, AFaceThatLooksLikeSomeoneElseNeverContinuesATrack) {
  // One face walking right, found in every frame; at frame 8 the detector finds only someone else (1.4
  // apart in descriptor space) right where the track goes, the walker hidden behind them. A lone, well
  // placed detection is not enough: it starts its own track, and the walker's track takes the walker
  // back when it reappears.
  Tracker t;
  const std::vector<float> a = {0.5f, 0.5f, -0.5f, -0.5f}, b = {0.5f, -0.5f, 0.5f, -0.5f};
  auto det = [](float x, const std::vector<float>& look) {
    TrackDetection d = box_at(x, 300, 100);
    d.look = look;
    return d;
  };
  int walker = -1;
  for (int f = 0; f < 8; ++f) walker = t.update(f, {det(100 + 10.0f * f, a)})[0];
  const int other = t.update(8, {det(182, b)})[0];
  EXPECT_NE(other, walker);
  EXPECT_EQ(t.update(9, {det(190, a), det(184, b)})[0], walker);
}

TEST(VisitorsTracker, AnUnconfirmedTrackSurvivesTwoMisses) {
  TrackerOptions o;
  o.confirm_frames = 3;
  Tracker t(o);
  // A small face found in every third frame only.
  std::vector<int> ids;
  for (int f = 0; f < 9; ++f) {
    std::vector<TrackDetection> d;
    if (f % 3 == 0) d.push_back(box_at(200 + 10.0f * f, 300, 60));
    const auto got = t.update(f, d);
    if (!got.empty()) ids.push_back(got[0]);
  }
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[1], ids[0]);
  EXPECT_EQ(ids[2], ids[0]);
  t.finish();
  const auto ended = t.take_ended();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_TRUE(ended[0].confirmed);
}

TEST(VisitorsTracker, LooksSettleTwoFacesInOneGate) {
  Tracker t;
  const std::vector<float> a = {0.5f, 0.5f, -0.5f, -0.5f}, b = {0.5f, -0.5f, 0.5f, -0.5f};
  auto det = [](float x, float y, const std::vector<float>& look) {
    TrackDetection d = box_at(x, y, 100);
    d.look = look;
    return d;
  };
  int id_a = -1;
  for (int f = 0; f < 5; ++f) id_a = t.update(f, {det(100 + 10.0f * f, 300, a)})[0];
  // Two faces near A's predicted place: the one that looks like A continues it, although the other is
  // nearer; the other starts its own track.
  const auto ids = t.update(5, {det(150, 300, b), det(165, 310, a)});
  EXPECT_EQ(ids[1], id_a);
  EXPECT_NE(ids[0], id_a);
}

TEST(VisitorsTracker, ANearerFaceSteppingOverATrackStartsItsOwn) {
  // An 80 px face walking right; from frame 8 a nearer, 1.5x larger face walks over it and hides it.
  auto stepping_over = [](const TrackerOptions& o) {
    Tracker t(o);
    std::vector<int> ids;
    for (int f = 0; f < 12; ++f) {
      const float x = 200 + 12.0f * f;
      ids.push_back(t.update(f, {box_at(f < 8 ? x : x + 5, 300, f < 8 ? 80.0f : 120.0f)})[0]);
    }
    return ids;
  };
  const std::vector<int> ids = stepping_over({});
  EXPECT_EQ(ids[7], ids[0]);
  EXPECT_NE(ids[8], ids[0]) << "the nearer face is someone else";
  EXPECT_EQ(ids[11], ids[8]);
  TrackerOptions size_gate_only;  // the 0.5-2x size gate alone took it over
  size_gate_only.max_grow = 2;
  EXPECT_EQ(stepping_over(size_gate_only)[8], ids[0]);
  // A face walking towards the camera grows 6 % per processed frame (80 -> 150 px): one track.
  Tracker u;
  const auto grow = run(u, 12, [](int f) { return std::vector<TrackDetection>{box_at(200 + 12.0f * f, 300, 80 * std::pow(1.06f, f))}; });
  for (const auto& v : grow) EXPECT_EQ(v[0], grow[0][0]);
}

namespace {

// Descriptors of `people` synthetic people: a random centre each (distance ~1 between people), tracks
// scattered around it by `noise`.
std::vector<std::vector<float>> synthetic_tracks(int people, int per_person, float noise, unsigned seed,
                                                 std::vector<int>* truth) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0, 1);
  std::vector<std::vector<float>> out;
  for (int p = 0; p < people; ++p) {
    std::vector<float> c(128);
    for (float& x : c) x = n(rng) * 0.0625f;  // |c1 - c2| ~ sqrt(2 * 128) * 0.0625 = 1.0
    for (int k = 0; k < per_person; ++k) {
      std::vector<float> d(c);
      for (float& x : d) x += n(rng) * noise / std::sqrt(128.0f);
      out.push_back(d);
      truth->push_back(p);
    }
  }
  return out;
}

std::vector<ClusterItem> items_of(const std::vector<std::vector<float>>& d) {
  std::vector<ClusterItem> items;
  for (size_t i = 0; i < d.size(); ++i) items.push_back({d[i].data(), 0, static_cast<long>(i) * 100, static_cast<long>(i) * 100 + 50});
  return items;
}

}  // namespace

TEST(VisitorsCluster, RecoversSyntheticPeopleExactly) {
  std::vector<int> truth;
  const auto d = synthetic_tracks(40, 3, 0.2f, 7, &truth);
  const auto labels = cluster_tracks(items_of(d), 128, 0.5);
  for (size_t i = 0; i < d.size(); ++i) {
    for (size_t j = i + 1; j < d.size(); ++j) EXPECT_EQ(labels[i] == labels[j], truth[i] == truth[j]) << i << "," << j;
  }
  EXPECT_EQ(*std::max_element(labels.begin(), labels.end()) + 1, 40);
  EXPECT_EQ(labels[0], 0) << "labels are numbered by first appearance";
}

// Average linkage by definition: merge the closest pair of clusters (mean over their items' pairs,
// infinite when any pair is seen together) while it is below the threshold. O(n^3), for checking only.
std::vector<int> naive_average_linkage(const std::vector<ClusterItem>& items, double threshold) {
  std::vector<std::vector<size_t>> clusters;
  for (size_t i = 0; i < items.size(); ++i) clusters.push_back({i});
  auto linkage = [&](const std::vector<size_t>& x, const std::vector<size_t>& y) {
    double sum = 0;
    for (size_t i : x) {
      for (size_t j : y) {
        const ClusterItem &a = items[i], &b = items[j];
        if (a.camera == b.camera && a.first_frame <= b.last_frame && b.first_frame <= a.last_frame) return std::numeric_limits<double>::infinity();
        sum += descriptor_distance(a.descriptor, b.descriptor, 128);
      }
    }
    return sum / static_cast<double>(x.size() * y.size());
  };
  for (;;) {
    double best = threshold;
    size_t bx = 0, by = 0;
    for (size_t x = 0; x < clusters.size(); ++x) {
      for (size_t y = x + 1; y < clusters.size(); ++y) {
        const double d = linkage(clusters[x], clusters[y]);
        if (d < best) std::tie(best, bx, by) = std::make_tuple(d, x, y);
      }
    }
    if (best >= threshold) break;
    clusters[bx].insert(clusters[bx].end(), clusters[by].begin(), clusters[by].end());
    clusters.erase(clusters.begin() + static_cast<long>(by));
  }
  std::vector<int> label(items.size(), -1);
  for (size_t c = 0; c < clusters.size(); ++c) {
    for (size_t i : clusters[c]) label[i] = static_cast<int>(c);
  }
  std::vector<int> renumber(clusters.size(), -1), out;
  int next = 0;
  for (int l : label) {
    if (renumber[static_cast<size_t>(l)] < 0) renumber[static_cast<size_t>(l)] = next++;
    out.push_back(renumber[static_cast<size_t>(l)]);
  }
  return out;
}

TEST(VisitorsCluster, ComponentsGiveTheSameClustersAsTheWholeMatrix) {
  // Noisy people near each other, two cameras, some tracks overlapping in time: clustering each
  // below-threshold component alone must equal average linkage over everything, at every threshold.
  std::vector<int> truth;
  const auto d = synthetic_tracks(25, 4, 0.9f, 11, &truth);
  std::vector<ClusterItem> items;
  for (size_t i = 0; i < d.size(); ++i) items.push_back({d[i].data(), static_cast<int>(i % 2), static_cast<long>(i % 7) * 40, static_cast<long>(i % 7) * 40 + 60});
  for (double threshold : {0.3, 0.6, 0.9, 1.1, 1.3}) {
    EXPECT_EQ(cluster_tracks(items, 128, threshold), naive_average_linkage(items, threshold)) << "threshold " << threshold;
  }
}

TEST(VisitorsCluster, ThresholdBoundsTheMerges) {
  const std::vector<float> a(128, 0.0f);
  std::vector<float> b(128, 0.0f), c(128, 0.0f);
  b[0] = 0.4f;  // |a - b| = 0.4
  c[0] = 1.2f;  // |b - c| = 0.8, |a - c| = 1.2
  std::vector<ClusterItem> items = {{a.data(), 0, 0, 1}, {b.data(), 0, 10, 11}, {c.data(), 0, 20, 21}};
  EXPECT_EQ(cluster_tracks(items, 128, 0.3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(cluster_tracks(items, 128, 0.5), (std::vector<int>{0, 0, 1}));
  // Average linkage: {a,b} to c is (1.2 + 0.8) / 2 = 1.0.
  EXPECT_EQ(cluster_tracks(items, 128, 0.99), (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(cluster_tracks(items, 128, 1.01), (std::vector<int>{0, 0, 0}));
}

TEST(VisitorsCluster, TracksSeenTogetherByOneCameraAreDifferentPeople) {
  const std::vector<float> a(128, 0.0f), b(128, 0.01f);
  // Same descriptor, same camera, overlapping frames: twins walking together stay two visitors ...
  EXPECT_EQ(cluster_tracks({{a.data(), 0, 0, 50}, {b.data(), 0, 40, 90}}, 128, 0.5), (std::vector<int>{0, 1}));
  // ... on different cameras or at different times they may be one.
  EXPECT_EQ(cluster_tracks({{a.data(), 0, 0, 50}, {b.data(), 1, 40, 90}}, 128, 0.5), (std::vector<int>{0, 0}));
  EXPECT_EQ(cluster_tracks({{a.data(), 0, 0, 50}, {b.data(), 0, 60, 90}}, 128, 0.5), (std::vector<int>{0, 0}));
  // A cluster holding a track that conflicts with a third never takes the third in.
  const std::vector<float> c(128, 0.02f);
  const auto l = cluster_tracks({{a.data(), 0, 0, 50}, {b.data(), 1, 0, 50}, {c.data(), 0, 10, 20}}, 128, 0.5);
  EXPECT_EQ(l[0], l[1]);
  EXPECT_NE(l[2], l[0]);
  EXPECT_TRUE(cluster_tracks({}, 128, 0.5).empty());
}

TEST(VisitorsCluster, ChildrenCompareMoreStrictly) {
  const std::vector<float> a(128, 0.0f);
  std::vector<float> b(128, 0.0f);
  b[0] = 0.3f;  // under the default same-person distance, 0.325 ...
  EXPECT_EQ(cluster_tracks({{a.data(), 0, 0, 1}, {b.data(), 1, 0, 1}}, 128, 0.325), (std::vector<int>{0, 0}));
  // ... but not once either track is a small child's: 0.3 x 1.3 = 0.39.
  EXPECT_EQ(cluster_tracks({{a.data(), 0, 0, 1, kChildStrictness}, {b.data(), 1, 0, 1}}, 128, 0.325),
            (std::vector<int>{0, 1}));
  EXPECT_EQ(cluster_tracks({{a.data(), 0, 0, 1}, {b.data(), 1, 0, 1, kChildStrictness}}, 128, 0.325),
            (std::vector<int>{0, 1}));
}

TEST(VisitorsFusion, WeightsFramesByScoreAndSize) {
  TrackFusion f(2);
  const float small_face[2] = {1, 0}, big_face[2] = {0, 1};
  f.add(small_face, 0.0f, 0.5f, 32);  // weight 0.5 * 32 / 160 = 0.1
  f.add(big_face, 1.0f, 1.0f, 160);   // weight 1.0
  const auto p = f.age_probs();
  EXPECT_NEAR(p[0], 0.1 / 1.1, 1e-6);
  EXPECT_NEAR(p[1], 1.0 / 1.1, 1e-6);
  EXPECT_NEAR(f.female_prob(), 1.0 / 1.1, 1e-6);
  EXPECT_EQ(f.frames(), 2);
  EXPECT_NEAR(TrackFusion::frame_weight(1.0f, 400), 1.0, 1e-9) << "beyond 160 px size adds no weight";
  EXPECT_LT(f.age(), 0) << "no year head: no age of its own";
  TrackFusion no_gender(2);
  no_gender.add(small_face, -1.0f, 1.0f, 100);
  EXPECT_LT(no_gender.female_prob(), 0);
  // A year head's ages are fused with the same weights.
  TrackFusion years(2);
  years.add(small_face, 0.0f, 0.5f, 32, 10.0);
  years.add(big_face, 1.0f, 1.0f, 160, 40.0);
  EXPECT_NEAR(years.age(), (0.1 * 10 + 1.0 * 40) / 1.1, 1e-9);
}

TEST(VisitorsEntries, LineCountsCrossingsInOneDirectionOnly) {
  const EntryRule line = EntryRule::parse("0,400,1280,400", "");
  EXPECT_TRUE(line.step(false, true, 600, 380, 610, 420)) << "down across the line";
  EXPECT_FALSE(line.step(false, true, 600, 420, 610, 380)) << "up across it is an exit";
  EXPECT_FALSE(line.step(false, true, 600, 300, 610, 390)) << "not reaching it";
  EXPECT_FALSE(line.step(false, false, 0, 0, 610, 420)) << "a first position is no crossing";
  const EntryRule short_line = EntryRule::parse("0,400,100,400", "");
  EXPECT_FALSE(short_line.step(false, true, 600, 380, 610, 420)) << "past the segment's end";
  const EntryRule roi = EntryRule::parse("", "100,100,200,50");
  EXPECT_TRUE(roi.step(false, false, 0, 0, 150, 120));
  EXPECT_FALSE(roi.step(false, false, 0, 0, 150, 160));
  EXPECT_TRUE(EntryRule().step(false, false, 0, 0, 1, 1)) << "no rule: every track counts";
}

TEST(VisitorsEntries, MalformedValuesNameTheFlag) {
  for (const auto& [line, roi] : std::vector<std::pair<std::string, std::string>>{
           {"1,2,3", ""}, {"a,b,c,d", ""}, {"5,5,5,5", ""}, {"", "0,0,-1,10"}, {"", "1,2,3,4,5"}, {"0,0,1,1", "0,0,1,1"}}) {
    try {
      EntryRule::parse(line, roi);
      ADD_FAILURE() << "accepted --line '" << line << "' --roi '" << roi << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(line.empty() ? "--roi" : "--line"), std::string::npos) << e.what();
    }
  }
}

TEST(VisitorsClock, StartAndFileNameStamps) {
  const DayClock c = DayClock::parse("2026-11-28T09:00:00");
  EXPECT_EQ(c.format(3725.4), "2026-11-28T10:02:05");
  EXPECT_EQ(c.hour(3725.4), "2026-11-28T10");
  EXPECT_EQ(c.video_start("/x/cam2_20261128-133000.mp4"), 4.5 * 3600);
  EXPECT_EQ(c.video_start("/x/cam2.mp4"), 0);
  const DayClock offsets = DayClock::parse("");
  EXPECT_EQ(offsets.format(3725.4), "+1:02:05");
  EXPECT_EQ(offsets.hour(3725.4), "+1h");
  EXPECT_THROW(DayClock::parse("28/11/2026 09:00"), UsageError);
  EXPECT_THROW(DayClock::parse("2026-13-28T09:00:00"), UsageError);
}

namespace {

TrackRecord track(int camera, double t0, double t1, std::vector<float> age, float female, double weight = 1) {
  TrackRecord r;
  r.camera = camera;
  r.video = "cam" + std::to_string(camera);
  r.first_time = t0, r.last_time = t1;
  r.first_frame = static_cast<long>(t0 * 10), r.last_frame = static_cast<long>(t1 * 10);
  r.age_probs = std::move(age);
  r.female_prob = female;
  r.weight = weight;
  return r;
}

}  // namespace

TEST(VisitorsDay, VisitorsVisitsAndSummary) {
  std::vector<TrackRecord> tracks = {
      track(0, 10, 15, {0.8f, 0.2f}, 0.9f),          // visitor A, morning, camera 0
      track(1, 20, 24, {0.6f, 0.4f}, 0.7f),          // A on camera 1, same visit
      track(0, 4000, 4005, {0.7f, 0.3f}, 0.8f),      // A back after lunch: second visit
      track(0, 30, 33, {0.1f, 0.9f}, 0.2f, 2),       // visitor B
  };
  const std::vector<int> labels = {0, 0, 0, 1};
  const auto visitors = make_visitors(tracks, labels, 1800);
  ASSERT_EQ(visitors.size(), 2u);
  EXPECT_EQ(visitors[0].visits, 2);
  EXPECT_EQ(visitors[0].tracks.size(), 3u);
  EXPECT_EQ(visitors[1].visits, 1);
  EXPECT_EQ(tracks[3].visitor, 2);
  EXPECT_NEAR(visitors[0].female_prob, (0.9 + 0.7 + 0.8) / 3, 1e-6);

  DayInfo info;
  info.age_groups = {"young", "old"};
  info.class_mean_age = {20, 60};
  info.clock = DayClock::parse("2026-11-28T09:00:00");
  const auto s = day_summary(tracks, visitors, info);
  EXPECT_EQ(s["unique_visitors"], 2);
  EXPECT_EQ(s["returning_visitors"], 1);
  EXPECT_EQ(s["visits"], 3);
  EXPECT_EQ(s["gender"]["female"], 1);
  EXPECT_EQ(s["gender"]["male"], 1);
  EXPECT_EQ(s["age_gender"]["young"]["female"], 1);
  EXPECT_EQ(s["age_gender"]["old"]["male"], 1);
  // Counted by most likely group: one each. Expected: the mean of the two visitors' probabilities.
  EXPECT_DOUBLE_EQ(s["age_share"]["young"].get<double>(), 0.5);
  const double young = (visitors[0].age_probs[0] + visitors[1].age_probs[0]) / 2;
  EXPECT_NEAR(s["age_share_expected"]["young"].get<double>(), young, 1e-6);
  EXPECT_NEAR(s["age_share_expected"]["old"].get<double>(), 1 - young, 1e-6);
  EXPECT_LT(young, 0.5) << "B is surer of old than A is of young";
  // Standard error of each share: sqrt(sum q (1 - q)) / n over the two visitors.
  const double a = visitors[0].age_probs[0], b = visitors[1].age_probs[0];
  EXPECT_NEAR(s["age_share_expected_se"]["young"].get<double>(), std::sqrt(a * (1 - a) + b * (1 - b)) / 2, 1e-6);
  EXPECT_FALSE(s["age_share_calibrated"].get<bool>());
  // The female share: counted (one of two) and expected (mean P(female)) with its standard error.
  const double fa = visitors[0].female_prob, fb = visitors[1].female_prob;
  EXPECT_DOUBLE_EQ(s["gender_share"]["female"].get<double>(), 0.5);
  EXPECT_NEAR(s["gender_share_expected"]["female"].get<double>(), (fa + fb) / 2, 1e-6);
  EXPECT_NEAR(s["gender_share_expected"]["male"].get<double>(), 1 - (fa + fb) / 2, 1e-6);
  EXPECT_NEAR(s["gender_share_expected_se"]["female"].get<double>(), std::sqrt(fa * (1 - fa) + fb * (1 - fb)) / 2, 1e-6);
  EXPECT_FALSE(s["gender_share_calibrated"].get<bool>());
  {  // Without a gender head there is no female share to estimate: null, not 0 %.
    std::vector<TrackRecord> genderless = tracks;
    for (auto& t : genderless) t.female_prob = -1;
    const auto g = day_summary(genderless, make_visitors(genderless, labels, 1800), info);
    EXPECT_TRUE(g["gender_share_expected"].is_null());
    EXPECT_TRUE(g["gender_share_expected_se"].is_null());
    EXPECT_EQ(g["gender"]["unknown"], 2);
  }
  {  // With the model's share weights the shares reweight each visitor's probabilities; answers stay.
    DayInfo calibrated = info;
    calibrated.age_share_weights = {2.0, 0.5};
    calibrated.gender_share_weights = {0.8, 1.25};
    const auto c = day_summary(tracks, visitors, calibrated);
    const double ga = 1.25 * fa / (1.25 * fa + 0.8 * (1 - fa)), gb = 1.25 * fb / (1.25 * fb + 0.8 * (1 - fb));
    EXPECT_NEAR(c["gender_share_expected"]["female"].get<double>(), (ga + gb) / 2, 1e-6);
    EXPECT_NEAR(c["gender_share_expected_se"]["female"].get<double>(), std::sqrt(ga * (1 - ga) + gb * (1 - gb)) / 2, 1e-6);
    EXPECT_TRUE(c["gender_share_calibrated"].get<bool>());
    EXPECT_EQ(c["gender"], s["gender"]);
    EXPECT_EQ(c["gender_share"], s["gender_share"]);
    const double qa = 2 * a / (2 * a + 0.5 * (1 - a)), qb = 2 * b / (2 * b + 0.5 * (1 - b));
    EXPECT_NEAR(c["age_share_expected"]["young"].get<double>(), (qa + qb) / 2, 1e-6);
    EXPECT_NEAR(c["age_share_expected"]["old"].get<double>(), 1 - (qa + qb) / 2, 1e-6);
    EXPECT_TRUE(c["age_share_calibrated"].get<bool>());
    EXPECT_EQ(c["age_share"], s["age_share"]);
    EXPECT_EQ(c["age_gender"], s["age_gender"]);
  }
  ASSERT_EQ(s["per_hour"].size(), 1u);
  EXPECT_EQ(s["per_hour"][0]["hour"], "2026-11-28T09");
  EXPECT_EQ(s["per_hour"][0]["visitors"], 2);

  const std::string v = visitors_csv(visitors, tracks, info);
  EXPECT_EQ(v.substr(0, v.find('\n')), "visitor,first_seen,last_seen,visits,tracks,age_group,age_prob,age,gender,gender_prob,cameras");
  EXPECT_NE(v.find("1,2026-11-28T09:00:10,2026-11-28T10:06:45,2,3,young,"), std::string::npos) << v;
  // Without a year head's ages, a visitor's age is the groups' expected age (class mean ages).
  const double a_age = visitors[0].age_probs[0] * 20 + visitors[0].age_probs[1] * 60;
  char field[32];
  std::snprintf(field, sizeof field, ",%.1f,female,", a_age);
  EXPECT_NE(v.find(field), std::string::npos) << field << "\n" << v;
  {  // With them, a visitor's age is its tracks' ages weighted by their evidence, in both CSVs.
    std::vector<TrackRecord> aged = tracks;
    const double ages[4] = {30, 34, 26, 70};
    for (size_t i = 0; i < aged.size(); ++i) aged[i].age = ages[i];
    const auto aged_visitors = make_visitors(aged, labels, 1800);
    EXPECT_NEAR(aged_visitors[0].age, (30 + 34 + 26) / 3.0, 1e-9);  // A's tracks weigh 1 each
    EXPECT_NEAR(aged_visitors[1].age, 70, 1e-9);
    EXPECT_NE(visitors_csv(aged_visitors, aged, info).find(",30.0,female,"), std::string::npos);
    EXPECT_NE(tracks_csv(aged, info).find(",70.0,male,"), std::string::npos);
    EXPECT_EQ(day_summary(aged, aged_visitors, info)["age_groups"], s["age_groups"]) << "groups never change";
  }
  const std::string t = tracks_csv(tracks, info);
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 5);
  const std::string html = report_html(s, visitors, info);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg")) << "no network reference but the SVG namespace";
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

TEST(VisitorsDay, OutputsAreWrittenWithoutDescriptorsUnlessAsked) {
  agegender::test::TempDir dir;
  std::vector<TrackRecord> tracks = {track(0, 1, 2, {1.0f}, 0.1f)};
  tracks[0].descriptor.assign(128, 0.25f);
  const auto visitors = make_visitors(tracks, {0}, 1800);
  DayInfo info;
  info.age_groups = {"all"};
  info.class_mean_age = {30};
  const auto s = day_summary(tracks, visitors, info);
  write_day_outputs(dir.str("out"), tracks, visitors, s, info, false);
  for (const char* f : {"visitors.csv", "tracks.csv", "summary.json", "report.html"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / f)) << f;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out" / "descriptors.csv"));
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "out")) {
    EXPECT_EQ(agegender::test::read_file(e.path()).find("0.250000"), std::string::npos) << e.path() << " holds a descriptor";
  }
  write_day_outputs(dir.str("kept"), tracks, visitors, s, info, true);
  EXPECT_NE(agegender::test::read_file(dir.path() / "kept" / "descriptors.csv").find("0.250000"), std::string::npos);
  // A later run into the same folder that keeps none leaves no stale descriptors beside its tracks.csv.
  write_day_outputs(dir.str("kept"), tracks, visitors, s, info, false);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "kept" / "descriptors.csv"));
}

TEST(VisitorsCli, UsageErrorsNameTheFlag) {
  agegender::test::TempDir dir;
  const std::string base = "visitors --model " + dir.str("none") + " --out " + dir.str("out") + " --input " + dir.str("none");
#ifdef AGEGENDER_HAS_OPENCV
  const auto named = [](const std::string& what) { return what; };
#else  // every run is refused first, naming OpenCV instead
  const auto named = [](const std::string&) { return std::string("OpenCV"); };
#endif
  auto r = agegender::test::run_cli(base + " --line 1,2,3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(named("--line")), std::string::npos) << r.output;
  r = agegender::test::run_cli(base + " --start yesterday");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(named("--start")), std::string::npos) << r.output;
  r = agegender::test::run_cli(base + " --stitch-gap -1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(named("--stitch-gap")), std::string::npos) << r.output;
  r = agegender::test::run_cli(base + " --roi 0,0,10,10");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(named(dir.str("none"))), std::string::npos) << "the missing input is named: " << r.output;
  r = agegender::test::run_cli(base + " --detect none");  // refused while parsing, with or without OpenCV
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--detect"), std::string::npos) << r.output;
  r = agegender::test::run_cli(base + " --look-distance 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(named("--look-distance")), std::string::npos) << r.output;
  r = agegender::test::run_cli(base + " --record-evidence " + dir.str("day.csv"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(named(".agev")), std::string::npos) << r.output;
  const std::string replay = "visitors --model " + dir.str("none") + " --out " + dir.str("out") + " --input ";
  r = agegender::test::run_cli(replay + dir.str("missing.agev"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(named(dir.str("missing.agev"))), std::string::npos) << r.output;
  std::ofstream(dir.path() / "day.agev") << "x";
  r = agegender::test::run_cli(replay + dir.str("day.agev") + " --annotate " + dir.str("a.mp4"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(named("--annotate")), std::string::npos) << r.output;
  r = agegender::test::run_cli("visitors --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("Privacy"), std::string::npos);
  EXPECT_NE(r.output.find("--record-evidence"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out")) << "nothing written on a usage error";
}
