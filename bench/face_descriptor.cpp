// Face descriptor robustness and speed on real UTKFace crops (read from the archive at run time):
// Euclidean distance between a crop's descriptor and that of the same crop shifted by 5 %, scaled by 0.9
// and brightened by 20 %, against the distance between two different people.
//   bench_face_descriptor ARCHIVE [PREPARED_DIR: use its test split] [N=500] [MODELS=models/face-api] [threads=0]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <set>
#include <torch/torch.h>

#include "agegender/dataset_source.hpp"
#include "agegender/face_embedder.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/prepared_dataset.hpp"
#include "agegender/threads.hpp"

using namespace agegender;

namespace {

cv::Mat perturbed(const cv::Mat& bgr) {
  const int side = bgr.cols;
  cv::Mat small, out;
  cv::resize(bgr, small, cv::Size(), 0.9, 0.9, cv::INTER_AREA);  // scaled by 0.9 ...
  const int pad = (side - small.cols) / 2, shift = side / 20;     // ... and shifted by 5 %
  cv::copyMakeBorder(small, out, pad + shift, side - small.rows - pad - shift, pad + shift, side - small.cols - pad - shift,
                     cv::BORDER_REPLICATE);
  out.convertTo(out, -1, 1.2, 0);  // brightened by 20 % (saturating)
  return out;
}

std::vector<uint8_t> rgb_bytes(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return std::vector<uint8_t>(rgb.data, rgb.data + rgb.total() * 3);
}

double distance(const float* a, const float* b) {
  double s = 0;
  for (int k = 0; k < kDescriptorSize; ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return std::sqrt(s);
}

void summary(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto q = [&](double p) { return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))]; };
  std::printf("%-42s n=%zu  min %.3f  p5 %.3f  median %.3f  p95 %.3f  max %.3f\n", what, v.size(), v.front(), q(0.05),
              q(0.5), q(0.95), v.back());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ARCHIVE [PREPARED_DIR] [N=500] [MODELS] [threads=0]\n", argv[0]);
    return 2;
  }
  const std::string prepared = argc > 2 ? argv[2] : "";
  const size_t n = argc > 3 ? std::stoul(argv[3]) : 500;
  torch::set_num_threads(resolve_threads(argc > 5 ? std::atoi(argv[5]) : 0));
  std::set<std::string> test_names;
  if (!prepared.empty() && prepared != "-") {
    const PreparedDataset ds = PreparedDataset::open(prepared);
    for (size_t i : ds.indices(Split::Test)) test_names.insert(ds.rows[i].file);
  }
  const SourceListing src = read_dataset_source(argv[1]);
  std::vector<cv::Mat> crops;
  for (size_t i = 0; i < src.files.size() && crops.size() < n; ++i) {
    const auto& f = src.files[test_names.empty() ? (i * 41) % src.files.size() : i];
    if (!test_names.empty() && !test_names.count(f.name)) continue;
    cv::Mat bgr;
    std::string err;
    if (decode_bgr(f.bytes, &bgr, &err) && bgr.cols == bgr.rows) crops.push_back(bgr);
  }
  FaceEmbedder embedder(face_models_dir(argc > 4 ? argv[4] : ""));
  std::vector<std::vector<uint8_t>> pixels;
  for (const auto& c : crops) pixels.push_back(rgb_bytes(c));
  for (const auto& c : crops) pixels.push_back(rgb_bytes(perturbed(c)));
  std::vector<RgbView> views;
  for (size_t i = 0; i < pixels.size(); ++i) views.push_back({pixels[i].data(), crops[0].rows, crops[0].cols});
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<float> d;
  for (size_t start = 0; start < views.size(); start += 64) {
    const std::vector<RgbView> batch(views.begin() + static_cast<long>(start),
                                     views.begin() + static_cast<long>(std::min(views.size(), start + 64)));
    const auto out = embedder.embed(batch);
    d.insert(d.end(), out.begin(), out.end());
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const size_t m = crops.size();
  // Different people: a fixed far pairing (i, i + m/2), and the next crop in file-name order, which in
  // UTKFace is someone of the same age and usually the same gender and race (the hard case). Exact
  // duplicates (byte-identical files under two names, distance 0) are not different people: skipped.
  std::vector<double> same, different, lookalike;
  size_t duplicates = 0;
  for (size_t i = 0; i < m; ++i) {
    same.push_back(distance(&d[i * kDescriptorSize], &d[(m + i) * kDescriptorSize]));
    for (auto [j, out] : {std::pair<size_t, std::vector<double>*>{(i + m / 2) % m, &different}, {(i + 1) % m, &lookalike}}) {
      const double dist = distance(&d[i * kDescriptorSize], &d[j * kDescriptorSize]);
      if (dist < 1e-6) {
        ++duplicates;
      } else {
        out->push_back(dist);
      }
    }
  }
  std::printf("%zu %s crops, %d threads: %.1f descriptors/s (preprocess + network)\n", m,
              test_names.empty() ? "UTKFace" : "UTKFace test-split", torch::get_num_threads(), 2.0 * m / secs);
  summary("same crop, shifted+scaled+brighter", same);
  summary("different people", different);
  summary("different people, same age (neighbours)", lookalike);
  if (duplicates) std::printf("(%zu pairs of byte-identical duplicate crops skipped)\n", duplicates);
  const double t = 0.6;  // face-api's FaceMatcher default
  const auto frac = [&](const std::vector<double>& v, bool above) {
    return static_cast<double>(std::count_if(v.begin(), v.end(), [&](double x) { return above ? x >= t : x < t; })) / v.size();
  };
  std::printf("at face-api's threshold %.1f: same crop judged different %.1f %%, different people judged same %.1f %% "
              "(same-age neighbours: %.1f %%)\n", t, 100 * frac(same, true), 100 * frac(different, false),
              100 * frac(lookalike, false));
  return 0;
}
