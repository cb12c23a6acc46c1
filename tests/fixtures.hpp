#pragma once
// Generated UTKFace-style fixtures (OpenCV builds only): synthetic "faces" whose brightness encodes the
// age and whose shape encodes the gender, so a tiny model can learn them.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>

#include "test_util.hpp"

namespace agegender::test {

inline std::string utk_name(int age, int gender, int race, long serial) {
  return std::to_string(age) + "_" + std::to_string(gender) + "_" + std::to_string(race) + "_2017011" +
         std::to_string(1000000 + serial) + ".jpg.chip.jpg";
}

inline cv::Mat synthetic_face(int age, int gender, unsigned seed, int size = 48) {
  std::mt19937 rng(seed);
  cv::Mat img(size, size, CV_8UC3);
  cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(60));
  const int shade = 60 + age * 180 / 116;
  const cv::Point center(size / 2 + static_cast<int>(rng() % 5) - 2, size / 2 + static_cast<int>(rng() % 5) - 2);
  if (gender == 0) {
    cv::rectangle(img, center - cv::Point(size / 4, size / 3), center + cv::Point(size / 4, size / 3),
                  cv::Scalar(shade, shade, 255 - shade), cv::FILLED);
  } else {
    cv::ellipse(img, center, cv::Size(size / 4, size / 3), 0, 0, 360, cv::Scalar(255 - shade, shade, shade), cv::FILLED);
  }
  return img;
}

inline std::string encode_jpg(const cv::Mat& img) {
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  return std::string(buf.begin(), buf.end());
}

/// Writes `n` labelled synthetic faces (ages spread over 0..90) into `dir`; returns their names.
inline std::vector<std::string> write_synthetic_dataset(const fs::path& dir, int n, int size = 48) {
  fs::create_directories(dir);
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    const int age = (i * 37) % 91, gender = (i / 3) % 2;
    names.push_back(utk_name(age, gender, i % 5, i));
    write_file(dir / names.back(), encode_jpg(synthetic_face(age, gender, static_cast<unsigned>(i), size)));
  }
  return names;
}

}  // namespace agegender::test
