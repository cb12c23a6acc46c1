#include "agegender/embedder.hpp"

#include <opencv2/imgproc.hpp>

#include "agegender/allocator.hpp"
#include "agegender/compute.hpp"
#include "agegender/face_embedder.hpp"
#include "agegender/row_file.hpp"
#include "agegender/threads.hpp"
#include "embed/descriptor_writer.hpp"
#include "vision/face_detector.hpp"
#include "vision/face_pipeline.hpp"

namespace agegender {
namespace {

// Faces become face-api's 150 px input on the workers; the network runs per chunk on the main thread.
class EmbedConsumer : public FaceConsumer {
 public:
  EmbedConsumer(FaceEmbedder& net, const std::string& out, bool jsonl, int batch, bool landmarks)
      : net_(net), path_(out), jsonl_(jsonl), landmarks_(landmarks), batch_(batch) {}

  void begin() override {
    out_ = std::make_unique<RowFile>(path_);
    if (!jsonl_) out_->write(descriptor_csv_header(landmarks_));
  }

  void prepare_face(const FoundFace& found, PipelineFace& face) const override {
    cv::Mat rgb;
    cv::cvtColor(found.crop, rgb, cv::COLOR_BGR2RGB);
    face.data.resize(kPlane * sizeof(float));
    FaceEmbedder::preprocess({rgb.data, rgb.rows, rgb.cols}, reinterpret_cast<float*>(face.data.data()));
  }

  void consume(std::vector<PipelineItem>& items) override {
    std::vector<const PipelineFace*> faces;
    for (const auto& it : items) {
      for (const auto& f : it.faces) faces.push_back(&f);
    }
    std::vector<float> descriptors, batch;
    for (size_t start = 0; start < faces.size(); start += static_cast<size_t>(batch_)) {
      const size_t n = std::min(faces.size() - start, static_cast<size_t>(batch_));
      batch.resize(n * kPlane);
      for (size_t i = 0; i < n; ++i) {
        std::memcpy(batch.data() + i * kPlane, faces[start + i]->data.data(), kPlane * sizeof(float));
      }
      const auto d = net_.embed_preprocessed(batch.data(), n);
      descriptors.insert(descriptors.end(), d.begin(), d.end());
    }
    size_t next = 0;
    for (const auto& it : items) {
      DescriptorRow row;
      row.where.file = it.input->path;
      row.where.frame = it.frame;
      if (it.faces.empty()) {
        row.error = it.error;
        write(row);
        ++errors;
      }
      for (size_t f = 0; f < it.faces.size(); ++f, ++next) {
        const cv::Rect& b = it.faces[f].box;
        row.where.face = static_cast<int>(f);
        row.where.x = b.x, row.where.y = b.y, row.where.w = b.width, row.where.h = b.height;
        row.marks = it.faces[f].marks();
        row.descriptor = &descriptors[next * kDescriptorSize];
        write(row);
        ++this->faces;
      }
    }
    out_->flush();
  }

  size_t faces = 0, errors = 0;

 private:
  static constexpr size_t kPlane = 3 * 150 * 150;
  void write(const DescriptorRow& r) {
    out_->write(jsonl_ ? descriptor_json_line(r, landmarks_) : descriptor_csv_line(r, landmarks_));
  }

  FaceEmbedder& net_;
  std::string path_;
  std::unique_ptr<RowFile> out_;
  bool jsonl_, landmarks_;
  int batch_;
};

}  // namespace

EmbedReport run_embed(const EmbedOptions& o) {
  if (o.out.empty() || o.out == "-") throw UsageError("--out: name a .jsonl or .csv file (descriptors are not printed)");
  if (o.batch < 1) throw UsageError("--batch must be >= 1");
  check_max_pixels(o.max_pixels);
  const std::string format = descriptor_format(o.out, o.format);
  const int threads = resolve_threads(o.threads, "--threads");
  tune_allocator();  // keeps LibTorch's activation buffers between batches instead of page-faulting them anew
  cap_kernel_cache();  // long videos: batches of every size would fill oneDNN's per-shape cache
  set_compute_threads(threads);
  FaceEmbedder net(face_models_dir(o.models), o.device);
  FacePipelineOptions po;
  po.input = o.input;
  po.detector = detector_options(o);
  po.every = o.every;
  po.threads = threads;
  po.max_pixels = o.max_pixels;
  po.quiet = o.quiet;
  po.label = "Embed";
  EmbedConsumer consumer(net, o.out, format == "jsonl", o.batch, o.landmarks);
  const PipelineReport p = run_face_pipeline(po, consumer);
  throw_if_nothing_read(p);
  EmbedReport r;
  r.inputs = p.inputs;
  r.read_ok = p.read_ok;
  r.seconds = p.seconds;
  r.faces = consumer.faces;
  r.errors = consumer.errors;
  return r;
}

}  // namespace agegender
