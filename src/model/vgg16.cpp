// vgg16: torchvision's VGG16 `features` layer for layer, so features.N.weight/bias names match
// torchvision/timm checkpoints (conv layers at indices 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28).
#include "model/face_net.hpp"

namespace agegender {

torch::nn::Sequential make_vgg16_features(int in_channels, int* out_channels) {
  constexpr int kPool = 0;
  const int cfg[] = {64, 64, kPool, 128, 128, kPool, 256, 256, 256, kPool, 512, 512, 512, kPool, 512, 512, 512, kPool};
  torch::nn::Sequential seq;
  int c = in_channels;
  for (int v : cfg) {
    if (v == kPool) {
      seq->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
    } else {
      seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(c, v, 3).padding(1)));
      seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
      c = v;
    }
  }
  *out_channels = c;
  return seq;
}

}  // namespace agegender
