#pragma once
// Joining one camera's tracks that are one walk broken apart (plain C++, after tracking), looking at whole
// tracks as the online tracker cannot:
//  - a face that goes behind a pillar or a shelf edge, or is missed for longer than the tracker's memory,
//    comes back as a new track: the second starts soon after the first ends, each one's motion carried
//    across the gap lands on the other's end;
//  - a face split in two by a pillar gets a second, short track beside the first one: it lies on the
//    first one's path while the first is seen.
// Either way their faces are of a size and their descriptors agree.
#include <cstddef>
#include <vector>

#include "visitors/day.hpp"

namespace agegender {

// Measured on the generated 300-person day (docs/visitors.md).
struct StitchOptions {
  double max_gap = 2.0;        // seconds from the first track's last face to the second's first; 0 = off
  float max_error = 0.5f;      // where the carried motion lands vs the other track's ends, in face sides
  float max_distance = 0.6f;   // descriptor distance (face-api's own same-person bound)
  float sure_distance = 0.4f;  // faces this alike may land up to 2 x max_error off
  float join_size_ratio = 0.5f;  // face sizes across a gap within 0.5-2x of each other
  // A piece seen while the other track is: being where the other was at the same times is strong
  // evidence, and a half face's descriptor is poor (0.6 left most split faces apart) and its box narrow,
  // so the bounds are wider (sizes within 0.3-3.3x of each other, against 0.5-2x across a gap).
  float absorb_error = 0.75f, absorb_distance = 1.0f, absorb_size_ratio = 0.3f;
  // ... and at least this share of the piece's detections fall within the other's span, or else the piece
  // moves on as the other moved (velocities near where they meet within `successor_velocity` face sides
  // per second): a track that goes on long after the other ends may be someone who stepped in as it left.
  float absorb_within = 0.5f, successor_velocity = 1.0f;
};

/// Merges the pieces among tracks[begin, end) (one camera, any order) into the track they continue or
/// accompany: frames, time span and end point, fused age/gender, descriptor (weighted by evidence) and
/// entry (`entries`: the step across a gap counts too). Removes the merged ones, leaves the rest in order
/// of first appearance; returns how many were merged.
size_t stitch_tracks(std::vector<TrackRecord>& tracks, size_t begin, const StitchOptions& o, const EntryRule& entries);

}  // namespace agegender
