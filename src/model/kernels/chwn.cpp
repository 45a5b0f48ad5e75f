#include "fedhpc/model/kernels/chwn.hpp"

#include <algorithm>

namespace fedhpc::model::kernels {

using std::ptrdiff_t;

void to_chwn(const float* x, float* y, int n, int c, int h, int w, int pad, int lanes) {
  const ptrdiff_t H = h + 2 * pad, W = w + 2 * pad, L = lanes;
  std::fill(y, y + c * H * W * L, 0.0f);
  for (ptrdiff_t i = 0; i < n; ++i)
    for (ptrdiff_t ch = 0; ch < c; ++ch)
      for (ptrdiff_t yy = 0; yy < h; ++yy) {
        const float* src = x + ((i * c + ch) * h + yy) * w;
        float* dst = y + ((ch * H + yy + pad) * W + pad) * L + i;
        for (ptrdiff_t xx = 0; xx < w; ++xx) dst[xx * L] = src[xx];
      }
}

void from_chwn(const float* x, float* y, int n, int c, int h, int w, int lanes) {
  const ptrdiff_t per = static_cast<ptrdiff_t>(c) * h * w, L = lanes;
  for (ptrdiff_t i = 0; i < n; ++i) {
    float* dst = y + i * per;
    for (ptrdiff_t p = 0; p < per; ++p) dst[p] = x[p * L + i];
  }
}

void pad_chwn(const float* x, float* y, int c, int h, int w, int pad, int lanes) {
  const ptrdiff_t H = h + 2 * pad, W = w + 2 * pad, L = lanes;
  for (ptrdiff_t ch = 0; ch < c; ++ch)
    for (ptrdiff_t yy = 0; yy < H; ++yy) {
      float* dst = y + (ch * H + yy) * W * L;
      const ptrdiff_t iy = yy - pad;
      if (iy < 0 || iy >= h) {
        std::fill(dst, dst + W * L, 0.0f);
        continue;
      }
      std::fill(dst, dst + pad * L, 0.0f);
      const float* src = x + (ch * h + iy) * w * L;
      std::copy(src, src + w * L, dst + pad * L);
      std::fill(dst + (pad + w) * L, dst + W * L, 0.0f);
    }
}

}  // namespace fedhpc::model::kernels
