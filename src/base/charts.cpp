#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "agegender/atomic_file.hpp"
#include "agegender/charts.hpp"
#include "agegender/error.hpp"

namespace agegender {
namespace {

const cv::Scalar kWhite(255, 255, 255), kBlack(0, 0, 0), kGrid(225, 225, 225), kBar(180, 119, 31);
const cv::Scalar kPalette[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214}, {189, 103, 148}};
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale = 0.45, const cv::Scalar& c = kBlack,
          bool centered = false) {
  int base = 0;
  const cv::Size sz = cv::getTextSize(s, kFont, scale, 1, &base);
  if (centered) at.x -= sz.width / 2;
  cv::putText(img, s, at, kFont, scale, c, 1, cv::LINE_AA);
}

std::string fmt(double v) {
  char buf[32];
  if (std::fabs(v) >= 100 || v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

void save_png(const std::string& path, const cv::Mat& img) {
  std::vector<uchar> png;
  if (!cv::imencode(".png", img, png)) throw RuntimeError("cannot encode " + path);
  write_file_atomic(path, std::string(png.begin(), png.end()));
}

// Horizontal grid lines with value labels; returns the pixel y for a value.
struct YAxis {
  double lo, hi;
  cv::Rect area;
  int y(double v) const { return area.y + area.height - static_cast<int>((v - lo) / (hi - lo) * area.height); }
  void draw(cv::Mat& img) const {
    for (int i = 0; i <= 4; ++i) {
      const double v = lo + (hi - lo) * i / 4.0;
      cv::line(img, {area.x, y(v)}, {area.x + area.width, y(v)}, kGrid, 1);
      text(img, fmt(v), {area.x - 45, y(v) + 4}, 0.4);
    }
    cv::rectangle(img, area, kBlack, 1);
  }
};

}  // namespace

bool charts_available() { return true; }

void write_bar_chart(const std::string& path, const std::string& title, const std::vector<std::string>& labels,
                     const std::vector<double>& values) {
  const int n = static_cast<int>(values.size());
  const int bar_w = std::clamp(760 / std::max(n, 1), 4, 80);
  const int width = std::max(480, 80 + n * bar_w + 20), height = 420;
  cv::Mat img(height, width, CV_8UC3, kWhite);
  const double vmax = std::max(1.0, *std::max_element(values.begin(), values.end()));
  const YAxis axis{0, vmax * 1.1, cv::Rect(70, 40, n * bar_w, height - 110)};
  axis.draw(img);
  text(img, title, {width / 2, 25}, 0.6, kBlack, true);
  // Label every bar when there is room, else every k-th, so 117 age bars stay readable.
  const int every = std::max(1, static_cast<int>(std::ceil(40.0 / bar_w)));
  for (int i = 0; i < n; ++i) {
    const int x0 = axis.area.x + i * bar_w;
    cv::rectangle(img, cv::Point(x0 + 1, axis.y(values[i])), cv::Point(x0 + bar_w - 1, axis.y(0)), kBar, cv::FILLED);
    if (i % every == 0) text(img, labels[i], {x0 + bar_w / 2, height - 50}, 0.4, kBlack, true);
    if (bar_w >= 40) text(img, fmt(values[i]), {x0 + bar_w / 2, axis.y(values[i]) - 4}, 0.35, kBlack, true);
  }
  save_png(path, img);
}

void write_line_chart(const std::string& path, const std::vector<Panel>& panels, const std::string& x_label) {
  const int pw = 460, ph = 360;
  cv::Mat img(ph, pw * static_cast<int>(panels.size()), CV_8UC3, kWhite);
  for (size_t p = 0; p < panels.size(); ++p) {
    const Panel& panel = panels[p];
    double lo = 1e300, hi = -1e300;
    size_t n = 0;
    for (const auto& s : panel.series) {
      for (double v : s.y) {
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
      }
      n = std::max(n, s.y.size());
    }
    if (lo > hi) lo = 0, hi = 1;
    if (hi - lo < 1e-9) hi = lo + 1;
    const double pad = 0.05 * (hi - lo);
    const int ox = static_cast<int>(p) * pw;
    const YAxis axis{lo - pad, hi + pad, cv::Rect(ox + 60, 55, pw - 80, ph - 115)};
    axis.draw(img);
    text(img, panel.title, {ox + pw / 2, 22}, 0.6, kBlack, true);
    text(img, x_label, {ox + pw / 2, ph - 15}, 0.45, kBlack, true);
    auto x_at = [&](size_t i) {
      return axis.area.x + (n <= 1 ? axis.area.width / 2 : static_cast<int>(i * axis.area.width / (n - 1)));
    };
    for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 8)) text(img, std::to_string(i + 1), {x_at(i), ph - 45}, 0.4, kBlack, true);
    for (size_t s = 0; s < panel.series.size(); ++s) {
      const auto& series = panel.series[s];
      const cv::Scalar c = kPalette[s % 5];
      for (size_t i = 0; i < series.y.size(); ++i) {
        const cv::Point pt(x_at(i), axis.y(series.y[i]));
        cv::circle(img, pt, 3, c, cv::FILLED, cv::LINE_AA);
        if (i > 0) cv::line(img, {x_at(i - 1), axis.y(series.y[i - 1])}, pt, c, 2, cv::LINE_AA);
      }
      // Legend in one row above the plot, where it can never cover a line.
      const int lx = axis.area.x + 110 * static_cast<int>(s), ly = 44;
      cv::line(img, {lx, ly - 4}, {lx + 20, ly - 4}, c, 2);
      text(img, series.name, {lx + 25, ly}, 0.45);
    }
  }
  save_png(path, img);
}

void write_confusion_matrix(const std::string& path, const std::string& title, const std::vector<std::string>& names,
                            const std::vector<std::vector<long>>& counts) {
  const int n = static_cast<int>(names.size());
  const int cell = std::clamp(560 / std::max(n, 1), 36, 80), left = 110, top = 70;
  cv::Mat img(top + n * cell + 60, left + n * cell + 30, CV_8UC3, kWhite);
  text(img, title, {img.cols / 2, 25}, 0.6, kBlack, true);
  text(img, "predicted", {left + n * cell / 2, 52}, 0.45, kBlack, true);
  text(img, "true", {10, top + n * cell / 2}, 0.45);
  for (int r = 0; r < n; ++r) {
    long row_total = 0;
    for (long v : counts[r]) row_total += v;
    text(img, names[r], {left - 60, top + r * cell + cell / 2 + 4}, 0.4);
    text(img, names[r], {left + r * cell + cell / 2, top + n * cell + 18}, 0.4, kBlack, true);
    for (int c = 0; c < n; ++c) {
      const double share = row_total > 0 ? static_cast<double>(counts[r][c]) / row_total : 0.0;
      const cv::Scalar shade(255 - 200 * share, 255 - 130 * share, 255 - 60 * share);
      const cv::Rect box(left + c * cell, top + r * cell, cell, cell);
      cv::rectangle(img, box, shade, cv::FILLED);
      cv::rectangle(img, box, kGrid, 1);
      text(img, std::to_string(counts[r][c]), {box.x + cell / 2, box.y + cell / 2 + 5}, 0.4,
           share > 0.5 ? kWhite : kBlack, true);
    }
  }
  save_png(path, img);
}

}  // namespace agegender
