#include "agegender/batch_split.hpp"

namespace agegender {
std::vector<size_t> power_of_two_batches(size_t n, size_t largest) {
  size_t top = 1;
  while (top * 2 <= largest) top *= 2;
  std::vector<size_t> out(n / top, top);
  for (size_t b = top / 2; b >= 1; b /= 2) {
    if ((n % top) & b) out.push_back(b);
  }
  return out;
}
}  // namespace agegender
