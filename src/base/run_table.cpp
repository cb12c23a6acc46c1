// The seed-format table over run directories (`agegender table`, and the end of `agegender sweep`).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agegender/atomic_file.hpp"
#include "agegender/csv.hpp"
#include "agegender/error.hpp"
#include "agegender/report.hpp"

namespace agegender {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json read_summary(const fs::path& dir) {
  std::ifstream in(dir / "summary.json");
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) throw RuntimeError((dir / "summary.json").string() + " is not valid JSON");
  return j;
}

// A run directory, or a sweep directory whose children are runs.
void collect(const fs::path& dir, std::vector<fs::path>& runs) {
  if (fs::exists(dir / "summary.json")) {
    runs.push_back(dir);
    return;
  }
  if (!fs::is_directory(dir)) throw UsageError(dir.string() + ": no such run directory");
  std::vector<fs::path> children;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && fs::exists(e.path() / "summary.json")) children.push_back(e.path());
  }
  if (children.empty()) throw UsageError(dir.string() + ": neither a finished run (summary.json) nor a sweep of runs");
  std::sort(children.begin(), children.end());
  runs.insert(runs.end(), children.begin(), children.end());
}

}  // namespace

std::string build_table(const std::vector<std::string>& run_dirs, const std::string& out_dir, size_t* rows) {
  std::vector<fs::path> runs;
  for (const auto& d : run_dirs) collect(d, runs);
  std::vector<TableRow> table;
  size_t best = runs.size();  // none while no run has a test accuracy (NaN = no test split)
  for (size_t i = 0; i < runs.size(); ++i) {
    try {
      table.push_back(table_row_from_summary(read_summary(runs[i])));
    } catch (const json::exception& e) {
      throw RuntimeError((runs[i] / "summary.json").string() + " lacks what a table row needs: " + e.what());
    }
    if (std::isfinite(table[i].test_acc) && (best == runs.size() || table[i].test_acc > table[best].test_acc)) best = i;
  }
  std::string md = "|Run" + markdown_header().substr(0, markdown_header().find('\n')) + "\n|---" +
                   markdown_header().substr(markdown_header().find('\n') + 1) + "\n";
  std::vector<std::string> header = csv_header();
  header.insert(header.begin(), "run");
  header.push_back("best");
  std::string csv = csv_line(header);
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string name = runs[i].filename().string();
    md += "|" + (i == best ? "**" + name + "** (best)" : name) + markdown_row(table[i]) + "\n";
    std::vector<std::string> fields = csv_row(table[i]);
    fields.insert(fields.begin(), name);
    fields.push_back(i == best ? "1" : "0");
    csv += csv_line(fields);
  }
  if (!out_dir.empty()) {
    write_file_atomic((fs::path(out_dir) / "table.md").string(), md);
    write_file_atomic((fs::path(out_dir) / "table.csv").string(), csv);
  }
  if (rows) *rows = runs.size();
  return md;
}

}  // namespace agegender
