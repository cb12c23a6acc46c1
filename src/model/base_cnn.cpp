// base_cnn: 4 blocks of conv3x3-BatchNorm-ReLU-maxpool2 with 32, 64, 128, 256 channels.
#include "model/face_net.hpp"

namespace agegender {

torch::nn::Sequential make_base_cnn_features(int in_channels, int* out_channels) {
  torch::nn::Sequential seq;
  int c = in_channels;
  for (int width : {32, 64, 128, 256}) {
    seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(c, width, 3).padding(1).bias(false)));
    seq->push_back(torch::nn::BatchNorm2d(width));
    seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    seq->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
    c = width;
  }
  *out_channels = c;
  return seq;
}

}  // namespace agegender
