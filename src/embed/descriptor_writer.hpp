#pragma once
// Streams descriptor rows (file,frame,face,x,y,w,h,d0..d127,error as CSV; JSONL with "descriptor" as an
// array), flushed chunk by chunk so a killed run keeps every finished row.
#include <string>

#include "agegender/face_location.hpp"

namespace agegender {

struct DescriptorRow {
  FaceLocation where;
  const float* descriptor = nullptr;  // 128 floats; null on error rows
  std::string error;
  FaceLandmarks marks;  // written with --landmarks only
};

/// "csv" or "jsonl" from `format`, else from the extension of `path`; UsageError otherwise.
std::string descriptor_format(const std::string& path, const std::string& format);
/// `landmarks`: score and landmarks columns before `error` (--landmarks).
std::string descriptor_csv_header(bool landmarks = false);
std::string descriptor_csv_line(const DescriptorRow& r, bool landmarks = false);
std::string descriptor_json_line(const DescriptorRow& r, bool landmarks = false);

}  // namespace agegender
