// Chart writers of a build without OpenCV (AGEGENDER_WITH_OPENCV=OFF): callers check charts_available().
#include "agegender/charts.hpp"
#include "agegender/error.hpp"

namespace agegender {
namespace {
[[noreturn]] void unavailable(const std::string& path) {
  throw RuntimeError("cannot draw " + path + ": this agegender was built without OpenCV");
}
}  // namespace

bool charts_available() { return false; }
void write_bar_chart(const std::string& p, const std::string&, const std::vector<std::string>&,
                     const std::vector<double>&) { unavailable(p); }
void write_line_chart(const std::string& p, const std::vector<Panel>&, const std::string&) { unavailable(p); }
void write_confusion_matrix(const std::string& p, const std::string&, const std::vector<std::string>&,
                            const std::vector<std::vector<long>>&) { unavailable(p); }

}  // namespace agegender
