#include "visitors/stitch.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "visitors/cluster.hpp"

namespace agegender {

namespace {

// A track's mean velocity in pixels per second over its whole span (robust to the shifted boxes of a
// half-hidden face at its ends); false when it spans no time.
bool velocity(const TrackRecord& t, float* vx, float* vy) {
  const double span = t.last_time - t.first_time;
  if (span <= 0) return false;
  *vx = static_cast<float>((t.last_x - t.first_x) / span);
  *vy = static_cast<float>((t.last_y - t.first_y) / span);
  return true;
}

// The velocity over the last (`tail`) or first `kEndWindow` seconds of the track's path: a track that
// began on something else (another face, before the tracker switched) or slowed at the frame's edge
// moves differently over its whole span than where it meets its other piece. The whole-span mean where
// the path is too short or absent.
constexpr double kEndWindow = 1.0, kMinEndSpan = 0.3;
bool end_velocity(const TrackRecord& t, bool tail, float* vx, float* vy) {
  const auto& p = t.path;
  if (p.size() >= 2) {
    size_t lo = 0, hi = p.size() - 1;
    if (tail) {
      while (lo < hi && p[hi].time - p[lo].time > kEndWindow) ++lo;
    } else {
      while (hi > lo && p[hi].time - p[lo].time > kEndWindow) --hi;
    }
    const double span = p[hi].time - p[lo].time;
    if (span >= kMinEndSpan) {
      *vx = static_cast<float>((p[hi].x - p[lo].x) / span);
      *vy = static_cast<float>((p[hi].y - p[lo].y) / span);
      return true;
    }
  }
  return velocity(t, vx, vy);
}

// How far (in face sides) `a` carried forward and `b` carried back miss each other's end; < 0 when
// neither track moves over time.
float stitch_error(const TrackRecord& a, const TrackRecord& b) {
  float avx = 0, avy = 0, bvx = 0, bvy = 0;
  const bool ha = end_velocity(a, true, &avx, &avy), hb = end_velocity(b, false, &bvx, &bvy);
  if (!ha && !hb) return -1;
  if (!ha) avx = bvx, avy = bvy;
  if (!hb) bvx = avx, bvy = avy;
  const float gap = static_cast<float>(b.first_time - a.last_time);
  const float ea = std::hypot(a.last_x + avx * gap - b.first_x, a.last_y + avy * gap - b.first_y);
  const float eb = std::hypot(b.first_x - bvx * gap - a.last_x, b.first_y - bvy * gap - a.last_y);
  return (ea + eb) / 2 / std::max((a.last_side + b.first_side) / 2, 1.0f);
}

double distance(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || a.size() != b.size()) return 0;  // no descriptors: motion alone decides
  return descriptor_distance(a.data(), b.data(), a.size());
}

template <typename T>
void weighted_mean(std::vector<T>& a, double wa, const std::vector<T>& b, double wb) {
  if (a.size() != b.size() || wa + wb <= 0) return;
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<T>((a[i] * wa + b[i] * wb) / (wa + wb));
}

void merge_into(TrackRecord& a, const TrackRecord& b, const EntryRule& entries) {
  weighted_mean(a.age_probs, a.weight, b.age_probs, b.weight);
  weighted_mean(a.descriptor, a.weight, b.descriptor, b.weight);
  if (a.female_prob >= 0 && b.female_prob >= 0) {
    a.female_prob = static_cast<float>((a.female_prob * a.weight + b.female_prob * b.weight) / (a.weight + b.weight));
  }
  if (a.age >= 0 && b.age >= 0 && a.weight + b.weight > 0) {
    a.age = (a.age * a.weight + b.age * b.weight) / (a.weight + b.weight);
  } else if (b.age >= 0) {
    a.age = b.age;
  }
  // Across a gap the walk went on unseen from a's end to b's start: a line crossed there counts.
  const bool gap = b.first_time > a.last_time;
  a.entered = a.entered || b.entered || (gap && entries.step(false, true, a.last_x, a.last_y, b.first_x, b.first_y));
  a.weight += b.weight;
  const size_t mid = a.path.size();
  a.path.insert(a.path.end(), b.path.begin(), b.path.end());
  std::inplace_merge(a.path.begin(), a.path.begin() + static_cast<long>(mid), a.path.end(),
                     [](const TrackPoint& p, const TrackPoint& q) { return p.time < q.time; });
  if (b.last_time > a.last_time) {
    a.last_frame = b.last_frame;
    a.last_time = b.last_time;
    a.last_x = b.last_x, a.last_y = b.last_y, a.last_side = b.last_side;
  }
  // Two pieces seen in the same frames (a face split by a pillar) must not count a frame twice.
  a.frames = static_cast<int>(std::min<long>(a.frames + b.frames, a.last_frame - a.first_frame + 1));
}

// Where `a` was at time `t` within its span: between the two detections around it on its path, or
// between its first and last detection when it has no path.
TrackPoint position_at(const TrackRecord& a, double t) {
  const auto& p = a.path;
  if (p.empty()) {
    const double span = a.last_time - a.first_time;
    const float u = span > 0 ? static_cast<float>(std::clamp((t - a.first_time) / span, 0.0, 1.0)) : 0.0f;
    return {t, a.first_x + u * (a.last_x - a.first_x), a.first_y + u * (a.last_y - a.first_y),
            a.first_side + u * (a.last_side - a.first_side)};
  }
  auto hi = std::lower_bound(p.begin(), p.end(), t, [](const TrackPoint& q, double v) { return q.time < v; });
  if (hi == p.begin()) return p.front();
  if (hi == p.end()) return p.back();
  const TrackPoint& lo = *(hi - 1);
  const double span = hi->time - lo.time;
  const float u = span > 0 ? static_cast<float>((t - lo.time) / span) : 0.0f;
  return {t, lo.x + u * (hi->x - lo.x), lo.y + u * (hi->y - lo.y), lo.side + u * (hi->side - lo.side)};
}

// How far (in face sides) `b`, which starts while `a` is still seen, lies off where `a` was at the same
// times: the mean over b's detections within a's span (b's first and last ones when it has no path);
// `within` gets the share of b's detections that fall in a's span.
float path_error(const TrackRecord& a, const TrackRecord& b, float* within) {
  const TrackPoint ends[2] = {{b.first_time, b.first_x, b.first_y, b.first_side}, {b.last_time, b.last_x, b.last_y, b.last_side}};
  const TrackPoint* own = b.path.empty() ? ends : b.path.data();
  const size_t count = b.path.empty() ? 2 : b.path.size();
  double sum = 0;
  int n = 0;
  for (size_t k = 0; k < count; ++k) {
    const TrackPoint& q = own[k];
    if (q.time < a.first_time || q.time > a.last_time) continue;
    const TrackPoint at = position_at(a, q.time);
    sum += std::hypot(at.x - q.x, at.y - q.y) / std::max((at.side + q.side) / 2, 1.0f);
    ++n;
  }
  *within = static_cast<float>(n) / static_cast<float>(count);
  return n > 0 ? static_cast<float>(sum / n) : -1;
}

// Whether `b`, which goes on after `a` ends, moves on as `a` moved: their velocities near where they meet
// differ by at most `bound` face sides per second.
bool moves_on(const TrackRecord& a, const TrackRecord& b, float bound) {
  float avx = 0, avy = 0, bvx = 0, bvy = 0;
  if (!end_velocity(a, true, &avx, &avy) || !end_velocity(b, false, &bvx, &bvy)) return false;
  return std::hypot(avx - bvx, avy - bvy) <= bound * std::max((a.last_side + b.first_side) / 2, 1.0f);
}

bool sizes_agree(float ratio_of_sides, float min_ratio) {
  return ratio_of_sides >= min_ratio && ratio_of_sides <= 1 / min_ratio;
}

// Pieces seen during another track on its path (the other half of a face split by a pillar or a shelf
// edge, a second box on one face): each joins the track whose path it lies on best. Clustering could
// never join them, since tracks seen together by one camera are different people.
size_t absorb_concurrent(std::vector<TrackRecord*>& t, const StitchOptions& o, const EntryRule& entries, std::vector<bool>& gone) {
  std::vector<std::tuple<float, size_t, size_t>> cand;  // error, host, piece
  for (size_t i = 0; i < t.size(); ++i) {
    if (gone[i]) continue;
    for (size_t j = i + 1; j < t.size() && t[j]->first_time <= t[i]->last_time; ++j) {
      if (gone[j]) continue;
      const float ratio = (t[j]->first_side + t[j]->last_side) / std::max(t[i]->first_side + t[i]->last_side, 1.0f);
      if (!sizes_agree(ratio, o.absorb_size_ratio) || distance(t[i]->descriptor, t[j]->descriptor) > o.absorb_distance) continue;
      float within = 0;
      const float err = path_error(*t[i], *t[j], &within);
      // Mostly seen after the other ends: it must also walk on as the other walked (a face the tracker
      // began afresh before letting go of the old track), not away (someone who stepped in as it left).
      if (err < 0 || err > o.absorb_error) continue;
      if (within >= o.absorb_within || moves_on(*t[i], *t[j], o.successor_velocity)) cand.emplace_back(err, i, j);
    }
  }
  std::sort(cand.begin(), cand.end());
  std::vector<bool> host(t.size(), false);
  size_t merged = 0;
  for (const auto& [err, i, j] : cand) {
    if (gone[i] || gone[j] || host[j]) continue;
    merge_into(*t[i], *t[j], entries);
    host[i] = gone[j] = true;
    ++merged;
  }
  return merged;
}

// A track that ends and one that starts up to `max_gap` later, each one's motion carried across the gap
// landing on the other's end: one walk, lost behind something or missed for longer than the tracker's
// memory. Best fits first; each track is continued by at most one and continues at most one.
size_t join_gaps(std::vector<TrackRecord*>& t, const StitchOptions& o, const EntryRule& entries, std::vector<bool>& gone) {
  std::vector<std::tuple<float, size_t, size_t>> cand;  // error, earlier, later
  for (size_t i = 0; i < t.size(); ++i) {
    if (gone[i]) continue;
    for (size_t j = i + 1; j < t.size() && t[j]->first_time <= t[i]->last_time + o.max_gap; ++j) {
      if (gone[j] || t[j]->first_time <= t[i]->last_time) continue;
      const float ratio = t[j]->first_side / std::max(t[i]->last_side, 1.0f);
      const double d = distance(t[i]->descriptor, t[j]->descriptor);
      if (!sizes_agree(ratio, o.join_size_ratio) || d > o.max_distance) continue;
      // Faces that agree well (under sure_distance) may land farther off (up to twice max_error).
      const float err = stitch_error(*t[i], *t[j]);
      if (err >= 0 && err <= (d <= o.sure_distance ? 2 * o.max_error : o.max_error)) cand.emplace_back(err, i, j);
    }
  }
  std::sort(cand.begin(), cand.end());
  std::vector<long> next(t.size(), -1);
  std::vector<bool> has_prev(t.size(), false);
  for (const auto& [err, i, j] : cand) {
    if (next[i] >= 0 || has_prev[j]) continue;
    next[i] = static_cast<long>(j);
    has_prev[j] = true;
  }
  size_t merged = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (gone[i] || has_prev[i]) continue;
    for (long j = next[i]; j >= 0; j = next[static_cast<size_t>(j)]) {
      merge_into(*t[i], *t[static_cast<size_t>(j)], entries);
      gone[static_cast<size_t>(j)] = true;
      ++merged;
    }
  }
  return merged;
}

}  // namespace

size_t stitch_tracks(std::vector<TrackRecord>& tracks, size_t begin, const StitchOptions& o, const EntryRule& entries) {
  if (o.max_gap <= 0 || begin + 2 > tracks.size()) return 0;
  std::stable_sort(tracks.begin() + static_cast<long>(begin), tracks.end(),
                   [](const TrackRecord& a, const TrackRecord& b) { return a.first_time < b.first_time; });
  std::vector<TrackRecord*> t;
  for (size_t i = begin; i < tracks.size(); ++i) t.push_back(&tracks[i]);
  std::vector<bool> gone(t.size(), false);
  // Absorbing again after the joins: a walk joined across a gap now spans pieces seen during that gap.
  size_t merged = absorb_concurrent(t, o, entries, gone);
  merged += join_gaps(t, o, entries, gone);
  merged += absorb_concurrent(t, o, entries, gone);
  size_t keep = begin;
  for (size_t i = 0; i < t.size(); ++i) {
    if (gone[i]) continue;
    if (keep != begin + i) tracks[keep] = std::move(tracks[begin + i]);  // (a self-move would empty it)
    ++keep;
  }
  tracks.resize(keep);
  return merged;
}

}  // namespace agegender
