#include "fedhpc/model/kernels/bias.hpp"

#include <cstddef>

namespace fedhpc::model::kernels {

void add_bias(const float* b, float* y, int n, int channels, int spatial) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (std::ptrdiff_t c = 0; c < channels; ++c) {
      float* row = y + (i * channels + c) * spatial;
      const float bc = b[c];
      for (std::ptrdiff_t p = 0; p < spatial; ++p) row[p] += bc;
    }
}

void bias_backward(const float* dy, float* db, int n, int channels, int spatial) {
  for (std::ptrdiff_t c = 0; c < channels; ++c) {
    double s = 0.0;
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const float* row = dy + (i * channels + c) * spatial;
      float r = 0.0f;  // one row is short (<= a few hundred terms); float is exact enough
      for (std::ptrdiff_t p = 0; p < spatial; ++p) r += row[p];
      s += r;
    }
    db[c] = static_cast<float>(s);
  }
}

}  // namespace fedhpc::model::kernels
