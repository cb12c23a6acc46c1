#include "agegender/tb_writer.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "agegender/error.hpp"

namespace agegender {
namespace {

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

void put_varint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
}

void put_tag(std::string& s, int field, int wire) { put_varint(s, static_cast<uint64_t>(field << 3 | wire)); }

void put_bytes(std::string& s, int field, const std::string& bytes) {
  put_tag(s, field, 2);
  put_varint(s, bytes.size());
  s += bytes;
}

template <typename T>
void put_fixed(std::string& s, int field, int wire, T v) {
  put_tag(s, field, wire);
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  s.append(b, sizeof v);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  static const auto table = make_table();
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string TensorBoardWriter::frame(const std::string& payload) {
  std::string rec;
  const uint64_t len = payload.size();
  char lenb[8];
  std::memcpy(lenb, &len, 8);
  rec.append(lenb, 8);
  uint32_t c = masked_crc32c(lenb, 8);
  rec.append(reinterpret_cast<const char*>(&c), 4);
  rec += payload;
  c = masked_crc32c(payload.data(), payload.size());
  rec.append(reinterpret_cast<const char*>(&c), 4);
  return rec;
}

std::string TensorBoardWriter::scalar_event(double wall_time, int64_t step, const std::string& tag, float value) {
  std::string val;
  put_bytes(val, 1, tag);
  put_fixed(val, 2, 5, value);  // simple_value: float, wire type 5
  std::string summary;
  put_bytes(summary, 1, val);
  std::string event;
  put_fixed(event, 1, 1, wall_time);  // double, wire type 1
  put_tag(event, 2, 0);
  put_varint(event, static_cast<uint64_t>(step));
  put_bytes(event, 5, summary);
  return event;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  path_ = (std::filesystem::path(dir) / ("events.out.tfevents." + std::to_string(static_cast<long>(now_seconds())) +
                                         "." + host + "." + std::to_string(::getpid())))
              .string();
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw RuntimeError("cannot create TensorBoard file " + path_);
  std::string event;
  put_fixed(event, 1, 1, now_seconds());
  put_bytes(event, 3, "brain.Event:2");  // file_version
  write_record(event);
  out_.flush();
}

void TensorBoardWriter::add_scalar(const std::string& tag, float value, int64_t step) {
  write_record(scalar_event(now_seconds(), step, tag, value));
}

void TensorBoardWriter::write_record(const std::string& payload) {
  const std::string rec = frame(payload);
  out_.write(rec.data(), static_cast<std::streamsize>(rec.size()));
}

}  // namespace agegender
