#include "visitors/evidence.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "agegender/atomic_file.hpp"
#include "agegender/error.hpp"
#include "agegender/face_embedder.hpp"

namespace agegender {

// Layout (native byte order, this machine's floats): magic, u32 class count + names; then records:
// 'C' camera (name, f64 fps), 'F' frame (i64 frame, u8 error, u32 faces, per face 5 f32 box + score,
// u32 + f32 age probs, f32 female, f32 age, u32 + f32 descriptor), 'E' end of camera, 'Z' end of file (a
// file cut short is told apart from a shorter day). Version 0001 files (before the per-face age) replay
// with the age taken from the groups.
namespace {
constexpr char kMagic[8] = {'A', 'G', 'E', 'V', '0', '0', '0', '2'};
constexpr char kMagicV1[8] = {'A', 'G', 'E', 'V', '0', '0', '0', '1'};
constexpr uint32_t kMaxCount = 1u << 20;  // no string, list or frame in a sane file is longer
}  // namespace

EvidenceWriter::EvidenceWriter(const std::string& path, const std::vector<std::string>& age_groups)
    : path_(path), tmp_(atomic_temp_path(path)), f_(std::fopen(tmp_.c_str(), "wb")) {
  if (!f_) throw RuntimeError("--record-evidence " + path + ": cannot write " + tmp_ + ": " + std::strerror(errno));
  put(kMagic, sizeof kMagic);
  const uint32_t n = static_cast<uint32_t>(age_groups.size());
  put(&n, 4);
  for (const auto& g : age_groups) {
    const uint32_t len = static_cast<uint32_t>(g.size());
    put(&len, 4);
    put(g.data(), g.size());
  }
}

EvidenceWriter::~EvidenceWriter() {
  if (!f_) return;
  std::fclose(f_);
  std::remove(tmp_.c_str());  // not committed: the run failed
}

void EvidenceWriter::put(const void* p, size_t n) {
  if (n > 0 && std::fwrite(p, 1, n, f_) != n) throw RuntimeError("--record-evidence " + path_ + ": cannot write (disk full?)");
}

void EvidenceWriter::start_camera(const std::string& name, double fps) {
  const uint32_t len = static_cast<uint32_t>(name.size());
  put("C", 1);
  put(&len, 4);
  put(name.data(), name.size());
  put(&fps, 8);
}

void EvidenceWriter::frame(const FrameEvidence& fr) {
  const int64_t frame = fr.frame;
  const uint8_t error = fr.error;
  const uint32_t faces = static_cast<uint32_t>(fr.faces.size());
  put("F", 1);
  put(&frame, 8);
  put(&error, 1);
  put(&faces, 4);
  for (const FaceEvidence& f : fr.faces) {
    const float box[5] = {f.box.x, f.box.y, f.box.w, f.box.h, f.score};
    put(box, sizeof box);
    const uint32_t na = static_cast<uint32_t>(f.age_probs.size()), nd = static_cast<uint32_t>(f.descriptor.size());
    put(&na, 4);
    put(f.age_probs.data(), na * 4);
    put(&f.female_prob, 4);
    put(&f.age, 4);
    put(&nd, 4);
    put(f.descriptor.data(), nd * 4);
  }
}

void EvidenceWriter::end_camera() { put("E", 1); }

void EvidenceWriter::commit() {
  put("Z", 1);
  const bool failed = std::fclose(f_) != 0;
  f_ = nullptr;
  if (failed) {
    std::remove(tmp_.c_str());
    throw RuntimeError("--record-evidence " + path_ + ": cannot write (disk full?)");
  }
  commit_atomic(tmp_, path_);
}

namespace {

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "rb")) {
    if (!f_) throw RuntimeError(path + ": cannot read the evidence file: " + std::strerror(errno));
  }
  ~Reader() { std::fclose(f_); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  [[noreturn]] void fail(const std::string& why) const {
    throw RuntimeError(path_ + ": not a readable visitors evidence file (" + why + "; written by --record-evidence)");
  }
  void get(void* p, size_t n) {
    if (n > 0 && std::fread(p, 1, n, f_) != n) fail("cut short");
  }
  template <typename T>
  T get() {
    T v{};
    get(&v, sizeof v);
    return v;
  }
  uint32_t count() {
    const auto n = get<uint32_t>();
    if (n > kMaxCount) fail("a count of " + std::to_string(n));
    return n;
  }
  std::string str() {
    std::string s(count(), '\0');
    get(s.data(), s.size());
    return s;
  }
  std::vector<float> floats() {
    std::vector<float> v(count());
    get(v.data(), v.size() * 4);
    return v;
  }

 private:
  std::string path_;
  std::FILE* f_;
};

}  // namespace

size_t replay_evidence(const std::string& path, const std::vector<std::string>& age_groups, EvidenceSink& sink) {
  Reader in(path);
  char magic[sizeof kMagic];
  in.get(magic, sizeof magic);
  const bool v1 = std::memcmp(magic, kMagicV1, sizeof kMagic) == 0;
  if (!v1 && std::memcmp(magic, kMagic, sizeof kMagic) != 0) in.fail("no evidence header");
  std::vector<std::string> groups(in.count());
  for (auto& g : groups) g = in.str();
  if (groups != age_groups) {
    std::string rec, now;
    for (const auto& g : groups) rec += (rec.empty() ? "" : ",") + g;
    for (const auto& g : age_groups) now += (now.empty() ? "" : ",") + g;
    throw RuntimeError(path + ": recorded with age groups [" + rec + "], but --model has [" + now +
                       "]: replay it with the model it was recorded with");
  }
  size_t frames = 0;
  bool in_camera = false;
  for (;;) {
    const char tag = in.get<char>();
    if (tag == 'Z') break;
    if (tag == 'C') {
      const std::string name = in.str();
      const double fps = in.get<double>();
      if (!(fps > 0 && fps <= 1000)) in.fail("a frame rate of " + std::to_string(fps));
      sink.start_camera(name, fps);
      in_camera = true;
    } else if (tag == 'E') {
      sink.end_camera();
      in_camera = false;
    } else if (tag == 'F') {
      FrameEvidence fr;
      fr.frame = static_cast<long>(in.get<int64_t>());
      if (!in_camera && fr.frame >= 0) in.fail("a frame outside a camera");  // (-1: an unreadable input)
      fr.error = in.get<uint8_t>() != 0;
      fr.faces.resize(in.count());
      for (FaceEvidence& f : fr.faces) {
        float box[5];
        in.get(box, sizeof box);
        f.box = {box[0], box[1], box[2], box[3]};
        f.score = box[4];
        f.age_probs = in.floats();
        if (!f.age_probs.empty() && f.age_probs.size() != groups.size()) in.fail("a face with " + std::to_string(f.age_probs.size()) + " age probabilities");
        f.female_prob = in.get<float>();
        if (!v1) {
          f.age = in.get<float>();
          if (!(f.age == -1 || (f.age >= 0 && f.age <= 200))) in.fail("a face aged " + std::to_string(f.age));
        }
        f.descriptor = in.floats();
        if (f.descriptor.size() != static_cast<size_t>(kDescriptorSize)) in.fail("a descriptor of " + std::to_string(f.descriptor.size()) + " values");
      }
      sink.track_frame(fr);
      ++frames;
    } else {
      in.fail(std::string("an unknown record '") + tag + "'");
    }
  }
  if (in_camera) in.fail("a camera not ended");
  return frames;
}

}  // namespace agegender
