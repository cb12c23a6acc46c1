#pragma once
// The seed study's result table: |Model|Dataset|Images|Epochs|Train_Loss|Test_Loss|Train_Acc|Test_Acc|...
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace agegender {

struct TableRow {
  std::string model, dataset, images, epochs;  // "Base CNN", "Intuition", "Color", "14 of 30"
  double train_loss = 0, test_loss = 0, train_acc = 0, test_acc = 0, gender_acc = 0, age_mae = 0, seconds = 0;
};

/// Labels from a run's summary.json (which carries the resolved config).
TableRow table_row_from_summary(const nlohmann::json& summary);
std::string markdown_header();
std::string markdown_row(const TableRow& r);
/// CSV fields (write them with csv_line).
std::vector<std::string> csv_header();
std::vector<std::string> csv_row(const TableRow& r);

/// The seed-format table over run directories (a sweep directory expands to its points); writes
/// table.md / table.csv when `out_dir` is not empty. Marks the best test accuracy with "**".
std::string build_table(const std::vector<std::string>& run_dirs, const std::string& out_dir, size_t* rows = nullptr);

}  // namespace agegender
