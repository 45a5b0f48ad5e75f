#include "fedhpc/model/kernels/maxpool.hpp"

#include <algorithm>
#include <cstddef>

namespace fedhpc::model::kernels {

namespace {

/// One output row: windows of input rows r0, r1. Branch-free so it
/// vectorizes; restrict because the uint8 stores could otherwise alias.
void pool_row(const float* __restrict r0, const float* __restrict r1, float* __restrict y,
              std::uint8_t* __restrict arg, std::ptrdiff_t ow) {
  for (std::ptrdiff_t ox = 0; ox < ow; ++ox) {
    const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
    // Strict > keeps the first max in window order (0, 1, 2, 3).
    const int right_top = b > a, right_bot = d > c;
    const float top = right_top ? b : a, bot = right_bot ? d : c;
    const int lower = bot > top;
    y[ox] = lower ? bot : top;
    arg[ox] = static_cast<std::uint8_t>(lower * (2 + right_bot) + (1 - lower) * right_top);
  }
}

}  // namespace

void maxpool2_forward(const float* x, float* y, std::uint8_t* arg, int n, int c, int h, int w) {
  const std::ptrdiff_t oh = h / 2, ow = w / 2, planes = static_cast<std::ptrdiff_t>(n) * c;
  for (std::ptrdiff_t q = 0; q < planes; ++q)
    for (std::ptrdiff_t oy = 0; oy < oh; ++oy) {
      const float* r0 = x + (q * h + 2 * oy) * w;
      pool_row(r0, r0 + w, y + (q * oh + oy) * ow, arg + (q * oh + oy) * ow, ow);
    }
}

void maxpool2_backward(const float* dy, const std::uint8_t* arg, float* dx, int n, int c, int h,
                       int w) {
  const std::ptrdiff_t oh = h / 2, ow = w / 2, planes = static_cast<std::ptrdiff_t>(n) * c;
  std::fill(dx, dx + planes * h * w, 0.0f);
  for (std::ptrdiff_t q = 0; q < planes; ++q) {
    float* xp = dx + q * h * w;
    const float* yp = dy + q * oh * ow;
    const std::uint8_t* ap = arg + q * oh * ow;
    for (std::ptrdiff_t oy = 0; oy < oh; ++oy)
      for (std::ptrdiff_t ox = 0; ox < ow; ++ox) {
        const int a = ap[oy * ow + ox];
        xp[(2 * oy + (a >> 1)) * w + 2 * ox + (a & 1)] = yp[oy * ow + ox];
      }
  }
}

}  // namespace fedhpc::model::kernels
