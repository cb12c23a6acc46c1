#pragma once
// Streams prediction rows as CSV or JSON Lines, flushing as they finish so a killed run keeps them.
#include <string>

#include "agegender/row_file.hpp"

namespace agegender {

struct PredictionRow {
  std::string file;
  long frame = -1;  // -1 for still images
  int face = 0;
  int x = 0, y = 0, w = 0, h = 0;
  std::string age_group;
  double age_prob = 0, age = 0;
  std::string gender;  // "male" | "female"
  double gender_prob = 0;
  std::string error;  // empty on success
};

class ResultWriter {
 public:
  static constexpr const char* kColumns = "file,frame,face,x,y,w,h,age_group,age_prob,age,gender,gender_prob,error";
  /// path "" or "-" = stdout. Throws UsageError for an unknown format, RuntimeError if the file can't be created.
  ResultWriter(const std::string& path, const std::string& format);
  void write(const PredictionRow& row);
  void flush();

  static std::string csv_line(const PredictionRow& r);
  static std::string json_line(const PredictionRow& r);

 private:
  bool jsonl_ = false;
  RowFile file_;
};

}  // namespace agegender
