#include "visitors/day_outputs.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "agegender/atomic_file.hpp"
#include "agegender/csv.hpp"
#include "agegender/error.hpp"

namespace agegender {
namespace {

std::string num(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// age_group, age_prob, age, gender, gender_prob: the columns visitors.csv and tracks.csv share.
std::vector<std::string> answer_fields(const std::vector<float>& age_probs, float female_prob, double age, const DayInfo& info) {
  const AgeAnswer a = age_answer(age_probs, info.age_groups, info.class_mean_age, age);
  const std::string g = gender_answer(female_prob);
  return {a.group, a.group.empty() ? "" : num(a.prob), a.group.empty() ? "" : num(a.age, 1), g,
          g.empty() ? "" : num(g == "female" ? female_prob : 1 - female_prob)};
}

std::vector<std::string> joined(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

}  // namespace

std::string visitors_csv(const std::vector<VisitorRecord>& visitors, const std::vector<TrackRecord>& tracks,
                         const DayInfo& info) {
  std::string out = csv_line({"visitor", "first_seen", "last_seen", "visits", "tracks", "age_group", "age_prob", "age",
                              "gender", "gender_prob", "cameras"});
  for (const auto& v : visitors) {
    std::vector<std::string> cams;
    for (size_t t : v.tracks) {
      if (std::find(cams.begin(), cams.end(), tracks[t].video) == cams.end()) cams.push_back(tracks[t].video);
    }
    std::string cam_list;
    for (const auto& c : cams) cam_list += (cam_list.empty() ? "" : ";") + c;
    auto fields = joined({std::to_string(v.id), info.clock.format(v.first_time), info.clock.format(v.last_time),
                          std::to_string(v.visits), std::to_string(v.tracks.size())},
                         answer_fields(v.age_probs, v.female_prob, v.age, info));
    fields.push_back(cam_list);
    out += csv_line(fields);
  }
  return out;
}

std::string tracks_csv(const std::vector<TrackRecord>& tracks, const DayInfo& info) {
  std::string out = csv_line({"track", "visitor", "video", "first_frame", "last_frame", "frames", "first_seen", "last_seen",
                              "age_group", "age_prob", "age", "gender", "gender_prob", "entered", "first_x", "first_y",
                              "last_x", "last_y"});
  for (const auto& t : tracks) {
    auto fields = joined({std::to_string(t.id), std::to_string(t.visitor), t.video, std::to_string(t.first_frame),
                          std::to_string(t.last_frame), std::to_string(t.frames), info.clock.format(t.first_time),
                          info.clock.format(t.last_time)},
                         answer_fields(t.age_probs, t.female_prob, t.age, info));
    fields.push_back(t.entered ? "1" : "0");
    for (float v : {t.first_x, t.first_y, t.last_x, t.last_y}) fields.push_back(num(v, 1));
    out += csv_line(fields);
  }
  return out;
}

std::string descriptors_csv(const std::vector<TrackRecord>& tracks) {
  std::vector<std::string> header = {"track", "visitor"};
  for (int i = 0; i < 128; ++i) header.push_back("d" + std::to_string(i));
  std::string out = csv_line(header);
  for (const auto& t : tracks) {
    std::vector<std::string> fields = {std::to_string(t.id), std::to_string(t.visitor)};
    for (float d : t.descriptor) fields.push_back(num(d, 6));
    out += csv_line(fields);
  }
  return out;
}

namespace {

// The page's script: draws every chart from the embedded data with createElementNS (no libraries, no
// network) and writes checksums the tests compare with summary.json.
constexpr const char* kScript = R"JS(
(function () {
  const status = document.getElementById('status');
  window.addEventListener('error', (e) => { status.textContent = 'error: ' + e.message; });
  const data = JSON.parse(document.getElementById('day').textContent);
  const s = data.summary, NS = 'http://www.w3.org/2000/svg';
  const colour = {male: '#3b6fb6', female: '#d0576b'};
  function el(name, attrs, parent, text) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  // A table row of text cells (textContent: names from the model or the data never become markup).
  function tableRow(tbody, cells) {
    const tr = document.createElement('tr');
    cells.forEach((x) => {
      const td = document.createElement('td');
      td.textContent = x;
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
  }
  function svg(id, w, h) {
    const root = el('svg', {width: w, height: h, viewBox: '0 0 ' + w + ' ' + h, role: 'img'});
    document.getElementById(id).appendChild(root);
    return root;
  }
  document.getElementById('total').textContent = s.unique_visitors;
  document.getElementById('returning').textContent = s.returning_visitors;
  document.getElementById('visits').textContent = s.visits;
  // Women: the estimated share (mean calibrated P(female), as for the age groups below) with its 95 %
  // interval, and the share counted from each visitor's most likely gender.
  const fe = s.gender_share_expected, fse = s.gender_share_expected_se;
  document.getElementById('female-share').textContent = (100 * (fe ? fe.female : s.gender_share.female)).toFixed(1) + ' %';
  document.getElementById('female-note').textContent = (fe && fse ? '\u00b1 ' + (196 * fse.female).toFixed(1) + ' %, ' : '') +
      'counted ' + (100 * s.gender_share.female).toFixed(1) + ' %' + (s.gender_share_calibrated ? ', calibrated' : '');
  if (s.entries !== undefined) document.getElementById('entries').textContent = s.entries;

  // Visitors per hour, stacked by gender.
  const hours = s.per_hour, H = 220, W = Math.max(320, 60 + 56 * hours.length);
  const hourSvg = svg('per-hour', W, H + 40);
  const top = Math.max(1, ...hours.map((h) => h.visitors));
  let drawnHour = 0;
  hours.forEach((h, i) => {
    const x = 50 + 56 * i;
    let y = H;
    ['male', 'female'].forEach((g) => {
      const bh = (H - 20) * h[g] / top;
      y -= bh;
      el('rect', {x: x, y: y, width: 40, height: bh, fill: colour[g], 'data-count': h[g], class: 'bar-' + g}, hourSvg);
      drawnHour += h[g];
    });
    const other = h.visitors - h.male - h.female;
    if (other > 0) drawnHour += other;
    const label = h.hour.length === 13 ? h.hour.slice(11) + ':00' : h.hour;  // 2026-11-28T09 -> 09:00
    el('text', {x: x + 20, y: H + 16, 'text-anchor': 'middle', 'font-size': 11}, hourSvg, label);
    el('text', {x: x + 20, y: y - 4, 'text-anchor': 'middle', 'font-size': 11}, hourSvg, h.visitors);
  });
  el('line', {x1: 45, y1: H, x2: W - 5, y2: H, stroke: '#444'}, hourSvg);

  // Age-group x gender pyramid: men to the left, women to the right.
  const groups = Object.keys(s.age_gender), PH = 26 * groups.length + 30, PW = 520, mid = PW / 2;
  const pyr = svg('pyramid', PW, PH);
  const most = Math.max(1, ...groups.map((g) => Math.max(s.age_gender[g].male, s.age_gender[g].female)));
  let drawnPyramid = 0;
  groups.slice().reverse().forEach((g, i) => {
    const y = 10 + 26 * i, m = s.age_gender[g].male, f = s.age_gender[g].female;
    const mw = (mid - 60) * m / most, fw = (mid - 60) * f / most;
    el('rect', {x: mid - 30 - mw, y: y, width: mw, height: 20, fill: colour.male, 'data-count': m}, pyr);
    el('rect', {x: mid + 30, y: y, width: fw, height: 20, fill: colour.female, 'data-count': f}, pyr);
    el('text', {x: mid, y: y + 14, 'text-anchor': 'middle', 'font-size': 11}, pyr, g);
    el('text', {x: mid - 34 - mw, y: y + 14, 'text-anchor': 'end', 'font-size': 11}, pyr, m);
    el('text', {x: mid + 34 + fw, y: y + 14, 'font-size': 11}, pyr, f);
    drawnPyramid += m + f;
  });

  // The day's age-group shares as estimated (mean probabilities, calibrated when the model is) with a
  // 95 % interval from their standard errors; the pyramid above counts each visitor once, in their most
  // likely group, which drains the groups the model is least sure of.
  const shareBody = document.querySelector('#share-table tbody');
  const expected = s.age_share_expected || {}, se = s.age_share_expected_se || {};
  Object.keys(s.age_groups).forEach((g) => {
    if (!(g in expected)) return;
    tableRow(shareBody, [g, (100 * expected[g]).toFixed(1) + ' %', g in se ? '\u00b1 ' + (196 * se[g]).toFixed(1) + ' %' : '-',
                         s.age_groups[g]]);
  });
  if (s.age_share_calibrated) document.getElementById('share-note').textContent = ' (calibrated)';

  // Returning visitors: how many came once, twice, three times or more.
  const byVisits = [0, 0, 0];
  data.visitors.forEach((v) => { byVisits[Math.min(v.visits, 3) - 1] += 1; });
  const ret = svg('returning-chart', 420, 110);
  const label = ['1 visit', '2 visits', '3+ visits'], mostV = Math.max(1, ...byVisits);
  byVisits.forEach((n, i) => {
    el('text', {x: 0, y: 24 + 32 * i, 'font-size': 12}, ret, label[i]);
    el('rect', {x: 70, y: 10 + 32 * i, width: 300 * n / mostV, height: 20, fill: '#6b8e23', 'data-count': n}, ret);
    el('text', {x: 76 + 300 * n / mostV, y: 24 + 32 * i, 'font-size': 12}, ret, n);
  });

  // The visitor table.
  const body = document.querySelector('#visitor-table tbody');
  data.visitors.forEach((v) => tableRow(body, [v.visitor, v.first_seen, v.last_seen, v.visits, v.tracks, v.age_group,
                                               v.age === null ? '' : v.age, v.gender]));
  const check = document.getElementById('check');
  check.dataset.hourTotal = drawnHour;
  check.dataset.pyramidTotal = drawnPyramid;
  check.dataset.rows = body.children.length;
  check.dataset.shareRows = shareBody.children.length;
  check.dataset.returning = byVisits[1] + byVisits[2];
  status.textContent = 'ok';
})();
)JS";

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

}  // namespace

std::string report_html(const nlohmann::json& summary, const std::vector<VisitorRecord>& visitors, const DayInfo& info) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& v : visitors) {
    const AgeAnswer a = age_answer(v.age_probs, info.age_groups, info.class_mean_age, v.age);
    rows.push_back({{"visitor", v.id}, {"first_seen", info.clock.format(v.first_time)},
                    {"last_seen", info.clock.format(v.last_time)}, {"visits", v.visits}, {"tracks", v.tracks.size()},
                    {"age_group", a.group}, {"age", a.group.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::lround(a.age))},
                    {"gender", gender_answer(v.female_prob)}});
  }
  std::string data = nlohmann::json{{"summary", summary}, {"visitors", rows}}.dump();
  for (size_t p = 0; (p = data.find("</", p)) != std::string::npos; p += 3) data.replace(p, 2, "<\\/");  // stays in <script>
  const nlohmann::json first = summary.value("first_seen", nlohmann::json());
  const std::string title = "Visitors" + (first.is_string() && info.clock.absolute
                                              ? " on " + first.get<std::string>().substr(0, 10)
                                              : std::string());
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
       "style-src 'unsafe-inline'\">\n";
  h += "<title>" + html_escape(title) + "</title>\n<style>\n"
       "body{font-family:sans-serif;margin:2em;color:#222}section{margin-bottom:2em}"
       ".kpi{display:inline-block;margin-right:2em}.kpi b{font-size:1.6em;display:block}"
       "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;font-size:12px}"
       ".legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}\n</style></head><body>\n";
  h += "<h1>" + html_escape(title) + "</h1>\n";
  h += "<p>Made by agegender visitors. No face images and no face descriptors are stored in this page.</p>\n";
  h += "<section><div class=\"kpi\">unique visitors<b id=\"total\"></b></div>"
       "<div class=\"kpi\">returning visitors<b id=\"returning\"></b></div>"
       "<div class=\"kpi\">visits<b id=\"visits\"></b></div>"
       "<div class=\"kpi\">women<b id=\"female-share\"></b><small id=\"female-note\"></small></div>";
  if (info.entries.active()) h += "<div class=\"kpi\">entries<b id=\"entries\"></b></div>";
  h += "</section>\n";
  h += "<p class=\"legend\"><span style=\"background:#3b6fb6\"></span>men<span style=\"background:#d0576b\"></span>women</p>\n";
  h += "<section><h2>Visitors per hour (first seen)</h2><div id=\"per-hour\"></div></section>\n";
  h += "<section><h2>Age group and gender</h2><div id=\"pyramid\"></div></section>\n";
  h += "<section><h2>Age-group shares<span id=\"share-note\"></span></h2><table id=\"share-table\"><thead><tr>"
       "<th>age group</th><th>estimated share</th><th>95 % interval</th><th>visitors counted</th></tr></thead>"
       "<tbody></tbody></table></section>\n";
  h += "<section><h2>Returning visitors</h2><div id=\"returning-chart\"></div></section>\n";
  h += "<section><h2>Visitors</h2><table id=\"visitor-table\"><thead><tr><th>visitor</th><th>first seen</th>"
       "<th>last seen</th><th>visits</th><th>tracks</th><th>age group</th><th>age</th><th>gender</th></tr></thead><tbody></tbody>"
       "</table></section>\n";
  h += "<p>Status: <span id=\"status\">not drawn (JavaScript off?)</span><span id=\"check\"></span></p>\n";
  h += "<script type=\"application/json\" id=\"day\">" + data + "</script>\n";
  h += std::string("<script>") + kScript + "</script>\n</body></html>\n";
  return h;
}

void write_day_outputs(const std::string& dir, const std::vector<TrackRecord>& tracks,
                       const std::vector<VisitorRecord>& visitors, const nlohmann::json& summary, const DayInfo& info,
                       bool keep_descriptors) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw RuntimeError("--out " + dir + ": cannot create the folder (" + ec.message() + ")");
  const std::filesystem::path d(dir);
  write_file_atomic((d / "visitors.csv").string(), visitors_csv(visitors, tracks, info));
  write_file_atomic((d / "tracks.csv").string(), tracks_csv(tracks, info));
  write_file_atomic((d / "summary.json").string(), summary.dump(2) + "\n");
  write_file_atomic((d / "report.html").string(), report_html(summary, visitors, info));
  const std::filesystem::path descriptors = d / "descriptors.csv";
  if (keep_descriptors) {
    write_file_atomic(descriptors.string(), descriptors_csv(tracks));
  } else if (std::filesystem::exists(descriptors)) {
    // An earlier run's descriptors would number other tracks than this tracks.csv, and this run was
    // asked to keep none: removing them keeps the folder consistent and private.
    std::filesystem::remove(descriptors, ec);
    if (ec) throw RuntimeError(descriptors.string() + ": an earlier run's descriptors, cannot remove them (" + ec.message() + ")");
    spdlog::warn("{}: removed an earlier run's descriptors (this run keeps none; --keep-descriptors keeps them)",
                 descriptors.string());
  }
}

}  // namespace agegender
