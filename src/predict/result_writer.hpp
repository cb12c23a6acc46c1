#pragma once
// Streams prediction rows as CSV or JSON Lines, flushing as they finish so a killed run keeps them.
#include <string>

#include "agegender/face_location.hpp"
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
  FaceLandmarks marks;  // written with --landmarks only
};

class ResultWriter {
 public:
  static constexpr const char* kColumns = "file,frame,face,x,y,w,h,age_group,age_prob,age,gender,gender_prob,error";
  /// path "" or "-" = stdout. Throws UsageError for an unknown format, RuntimeError if the file can't be
  /// created. `landmarks`: score and landmarks columns before `error`.
  ResultWriter(const std::string& path, const std::string& format, bool landmarks = false);
  void write(const PredictionRow& row);
  void flush();

  static std::string csv_line(const PredictionRow& r, bool landmarks = false);
  static std::string json_line(const PredictionRow& r, bool landmarks = false);

 private:
  bool jsonl_ = false, landmarks_ = false;
  RowFile file_;
};

}  // namespace agegender
