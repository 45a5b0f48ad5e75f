#include "fedhpc/model/kernels/bias.hpp"

#include <algorithm>
#include <cstddef>

namespace fedhpc::model::kernels {

void add_bias(const float* b, float* y, int n, int channels, int spatial) {
  if (spatial == 1) {  // dense layers: one row per example, vectorised over channels
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      float* row = y + i * channels;
      for (std::ptrdiff_t c = 0; c < channels; ++c) row[c] += b[c];
    }
    return;
  }
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (std::ptrdiff_t c = 0; c < channels; ++c) {
      float* row = y + (i * channels + c) * spatial;
      const float bc = b[c];
      for (std::ptrdiff_t p = 0; p < spatial; ++p) row[p] += bc;
    }
}

void bias_backward(const float* dy, float* db, int n, int channels, int spatial) {
  if (spatial == 1) {
    // The loop below with the channels innermost (vectorised): the same double
    // sums in the same order, so the same bits.
    constexpr std::ptrdiff_t kChunk = 256;
    for (std::ptrdiff_t c0 = 0; c0 < channels; c0 += kChunk) {
      const std::ptrdiff_t cn = std::min<std::ptrdiff_t>(kChunk, channels - c0);
      double s[kChunk];
      for (std::ptrdiff_t c = 0; c < cn; ++c) s[c] = 0.0;
      for (std::ptrdiff_t i = 0; i < n; ++i) {
        const float* row = dy + i * channels + c0;
        for (std::ptrdiff_t c = 0; c < cn; ++c) s[c] += static_cast<double>(row[c]);
      }
      for (std::ptrdiff_t c = 0; c < cn; ++c) db[c0 + c] = static_cast<float>(s[c]);
    }
    return;
  }
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
