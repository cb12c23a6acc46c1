#pragma once
// The files `agegender visitors` leaves in --out: visitors.csv, tracks.csv, summary.json, report.html
// (and descriptors.csv only with --keep-descriptors). Each is written atomically. Torch-free.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "visitors/day.hpp"

namespace agegender {

std::string visitors_csv(const std::vector<VisitorRecord>& visitors, const std::vector<TrackRecord>& tracks,
                         const DayInfo& info);
std::string tracks_csv(const std::vector<TrackRecord>& tracks, const DayInfo& info);
/// Biometric data: written only when the user asks (--keep-descriptors).
std::string descriptors_csv(const std::vector<TrackRecord>& tracks);

/// A self-contained page (inline CSS, SVG drawn by inline JS from the embedded summary; no network):
/// visitors per hour by gender, the age-group x gender pyramid, returning visitors, the visitor table.
/// The page writes "ok" into #status once drawn, or the error that stopped it.
std::string report_html(const nlohmann::json& summary, const std::vector<VisitorRecord>& visitors, const DayInfo& info);

/// Writes the four files (five with `keep_descriptors`) into `dir` (created).
void write_day_outputs(const std::string& dir, const std::vector<TrackRecord>& tracks,
                       const std::vector<VisitorRecord>& visitors, const nlohmann::json& summary, const DayInfo& info,
                       bool keep_descriptors);

}  // namespace agegender
