#pragma once
// The benchmarks' faces: a split of a prepared dataset (the test split unless they train), decoded from the UTKFace archive at run
// time (never stored).
#include <opencv2/core.hpp>
#include <map>
#include <string>
#include <vector>

#include "agegender/dataset_source.hpp"
#include "agegender/image_decode.hpp"
#include "agegender/prepared_dataset.hpp"

namespace agegender::bench {

struct TestCrop {
  std::string name;
  cv::Mat bgr;
  FaceLabel label;
};

/// At most `limit` crops of PREPARED_DIR's `split`, in archive order.
inline std::vector<TestCrop> split_crops(const std::string& archive, const std::string& prepared, Split split,
                                         size_t limit = static_cast<size_t>(-1)) {
  const PreparedDataset ds = PreparedDataset::open(prepared);
  std::map<std::string, FaceLabel> test;
  for (size_t i : ds.indices(split)) test[ds.rows[i].file] = ds.rows[i].label;
  std::vector<TestCrop> crops;
  for (const auto& f : read_dataset_source(archive).files) {
    const auto it = test.find(f.name);
    TestCrop c{f.name, {}, {}};
    std::string err;
    if (crops.size() >= limit || it == test.end() || !decode_bgr(f.bytes, &c.bgr, &err)) continue;
    c.label = it->second;
    crops.push_back(std::move(c));
  }
  return crops;
}

/// At most `limit` test-split crops of PREPARED_DIR, in archive order.
inline std::vector<TestCrop> test_split_crops(const std::string& archive, const std::string& prepared,
                                              size_t limit = static_cast<size_t>(-1)) {
  return split_crops(archive, prepared, Split::Test, limit);
}

}  // namespace agegender::bench
