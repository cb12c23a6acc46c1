#pragma once
// PNG charts (EDA histograms, training curves, confusion matrices), drawn with OpenCV.
// In a build without OpenCV, charts_available() is false and the writers throw RuntimeError.
#include <string>
#include <vector>

namespace agegender {

bool charts_available();

void write_bar_chart(const std::string& path, const std::string& title, const std::vector<std::string>& labels,
                     const std::vector<double>& values);

struct Series {
  std::string name;
  std::vector<double> y;  // one value per x = 1..n
};
/// Panels side by side, each with its own title and series (e.g. loss | accuracy).
struct Panel {
  std::string title;
  std::vector<Series> series;
};
void write_line_chart(const std::string& path, const std::vector<Panel>& panels, const std::string& x_label);

/// Rows are true classes, columns predicted; cells show counts, shaded by row-normalised share.
void write_confusion_matrix(const std::string& path, const std::string& title, const std::vector<std::string>& names,
                            const std::vector<std::vector<long>>& counts);

}  // namespace agegender
