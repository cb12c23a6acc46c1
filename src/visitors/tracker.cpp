#include "visitors/tracker.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace agegender {

float box_iou(const BoxF& a, const BoxF& b) {
  const float ix = std::max(0.0f, std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x));
  const float iy = std::max(0.0f, std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y));
  const float inter = ix * iy, uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

Tracker::Tracker(const TrackerOptions& options) : o_(options) {}

BoxF Tracker::predict(const Track& t, long frame) const {
  const float dt = static_cast<float>(frame - t.last_frame);
  const float scale = t.side / std::max((t.box.w + t.box.h) / 2, 1e-3f);
  const float w = t.box.w * scale, h = t.box.h * scale;
  return {t.box.cx() + t.vx * dt - w / 2, t.box.cy() + t.vy * dt - h / 2, w, h};
}

bool Tracker::predicted(int id, long frame, BoxF* box) const {
  for (const Track& t : tracks_) {
    if (t.id == id) {
      *box = predict(t, frame);
      return true;
    }
  }
  return false;
}

bool Tracker::looks_alike(const std::vector<float>& a, const std::vector<float>& b) const {
  if (a.empty() || a.size() != b.size()) return true;  // no appearance given: position alone decides
  float d2 = 0;
  for (size_t i = 0; i < a.size(); ++i) d2 += (a[i] - b[i]) * (a[i] - b[i]);
  return d2 <= o_.max_look_distance * o_.max_look_distance;
}

// Greedy assignment by ascending cost (1 - IoU + centre distance / side) within the gate and the look;
// detections of the other strength and tracks already taken are left alone.
void Tracker::associate(long frame, const std::vector<TrackDetection>& dets, bool strong, std::vector<bool>& track_used,
                        std::vector<int>& out) {
  std::vector<std::tuple<float, size_t, size_t>> cand;  // cost, track, detection
  for (size_t t = 0; t < tracks_.size(); ++t) {
    if (track_used[t]) continue;
    const Track& tr = tracks_[t];
    const BoxF p = predict(tr, frame);
    const float ps = (p.w + p.h) / 2;
    for (size_t d = 0; d < dets.size(); ++d) {
      if (out[d] != -1 || (dets[d].score >= o_.high_score) != strong) continue;
      const BoxF& b = dets[d].box;
      const float ds = (b.w + b.h) / 2, ratio = ds / std::max(ps, 1e-3f);
      if (ratio < 0.5f || ratio > 2.0f) continue;
      if (tr.hits >= 2 && ds > o_.max_grow * tr.peak_side) continue;
      const float iou = box_iou(p, b);
      const float centre = std::hypot(p.cx() - b.cx(), p.cy() - b.cy()) / std::max(std::max(ps, ds), 1e-3f);
      // Weak detections (ByteTrack's second association) must overlap the prediction well: low-score
      // background blobs must not drag a coasting track elsewhere.
      const float gate = tr.hits == 1 ? o_.first_centre : o_.max_centre;
      if (strong ? (iou < o_.min_iou && centre > gate) : iou < o_.weak_iou) continue;
      if (!looks_alike(tr.look, dets[d].look) && !looks_alike(tr.sure_look, dets[d].look)) continue;
      cand.emplace_back(1 - iou + centre, t, d);
    }
  }
  std::sort(cand.begin(), cand.end());
  for (const auto& [cost, t, d] : cand) {
    if (track_used[t] || out[d] != -1) continue;
    track_used[t] = true;
    out[d] = static_cast<int>(t);  // a track index until update() turns it into the id
    matches_.emplace_back(t, d);
  }
}

std::vector<int> Tracker::update(long frame, const std::vector<TrackDetection>& dets) {
  std::vector<int> out(dets.size(), -1);
  std::vector<bool> used(tracks_.size(), false);
  matches_.clear();
  associate(frame, dets, /*strong=*/true, used, out);
  associate(frame, dets, /*strong=*/false, used, out);
  for (const auto& [t, d] : matches_) {
    Track& tr = tracks_[t];
    const BoxF& b = dets[d].box;
    const float side = (b.w + b.h) / 2;
    const float dt = static_cast<float>(std::max(1L, frame - tr.last_frame));
    const float mvx = (b.cx() - tr.box.cx()) / dt, mvy = (b.cy() - tr.box.cy()) / dt;
    const float keep = tr.hits == 1 ? 0.0f : 0.6f;  // the first step sets the velocity, later ones smooth it
    tr.vx = keep * tr.vx + (1 - keep) * mvx;
    tr.vy = keep * tr.vy + (1 - keep) * mvy;
    tr.side = keep * tr.side + (1 - keep) * side;
    tr.peak_side = std::max(tr.peak_side, side);
    tr.box = b;
    tr.look = dets[d].look;
    if (dets[d].score > tr.sure_score) tr.sure_look = dets[d].look, tr.sure_score = dets[d].score;
    tr.last_frame = frame;
    ++tr.hits;
    tr.missed = 0;
    out[d] = tr.id;
  }
  for (size_t t = tracks_.size(); t-- > 0;) {
    if (used[t]) continue;
    Track& tr = tracks_[t];
    ++tr.missed;
    const bool confirmed = tr.hits >= o_.confirm_frames;
    if (tr.missed > (confirmed ? o_.max_missed : o_.tentative_missed)) end(t);
  }
  for (size_t d = 0; d < dets.size(); ++d) {
    if (out[d] != -1 || dets[d].score < o_.high_score) continue;
    Track tr;
    tr.id = next_id_++;
    tr.box = dets[d].box;
    tr.side = tr.peak_side = (tr.box.w + tr.box.h) / 2;
    tr.look = tr.sure_look = dets[d].look;
    tr.sure_score = dets[d].score;
    tr.first_frame = tr.last_frame = frame;
    tr.hits = 1;
    tracks_.push_back(tr);
    out[d] = tr.id;
  }
  return out;
}

void Tracker::end(size_t index) {
  const Track& t = tracks_[index];
  ended_.push_back({t.id, t.hits >= o_.confirm_frames, t.hits, t.first_frame, t.last_frame});
  tracks_.erase(tracks_.begin() + static_cast<long>(index));
}

void Tracker::finish() {
  while (!tracks_.empty()) end(tracks_.size() - 1);
}

std::vector<TrackEnd> Tracker::take_ended() {
  std::vector<TrackEnd> out;
  out.swap(ended_);
  std::sort(out.begin(), out.end(), [](const TrackEnd& a, const TrackEnd& b) { return a.id < b.id; });
  return out;
}

}  // namespace agegender
