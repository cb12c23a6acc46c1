#pragma once
// TensorBoard scalar event files without protobuf: TFRecord framing with masked CRC32C around
// hand-encoded Event{wall_time, step, Summary{Value{tag, simple_value}}} messages.
#include <cstdint>
#include <fstream>
#include <string>

namespace agegender {

uint32_t crc32c(const void* data, size_t n);  // Castagnoli, reflected 0x82F63B78
uint32_t masked_crc32c(const void* data, size_t n);

class TensorBoardWriter {
 public:
  /// Creates `<dir>/events.out.tfevents.<unix time>.<host>` and writes the file_version event.
  explicit TensorBoardWriter(const std::string& dir);
  void add_scalar(const std::string& tag, float value, int64_t step);
  void flush() { out_.flush(); }
  const std::string& path() const { return path_; }

  /// The framed record for `payload` (exposed for tests).
  static std::string frame(const std::string& payload);
  static std::string scalar_event(double wall_time, int64_t step, const std::string& tag, float value);

 private:
  void write_record(const std::string& payload);
  std::string path_;
  std::ofstream out_;
};

}  // namespace agegender
