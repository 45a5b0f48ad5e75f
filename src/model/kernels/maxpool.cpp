#include "fedhpc/model/kernels/maxpool.hpp"

#include <algorithm>
#include <cstddef>

namespace fedhpc::model::kernels {

void maxpool2_forward(const float* x, float* y, std::uint8_t* arg, int n, int c, int h, int w) {
  const std::ptrdiff_t oh = h / 2, ow = w / 2, planes = static_cast<std::ptrdiff_t>(n) * c;
  for (std::ptrdiff_t q = 0; q < planes; ++q) {
    const float* xp = x + q * h * w;
    float* yp = y + q * oh * ow;
    std::uint8_t* ap = arg + q * oh * ow;
    for (std::ptrdiff_t oy = 0; oy < oh; ++oy) {
      const float* r0 = xp + 2 * oy * w;
      const float* r1 = r0 + w;
      for (std::ptrdiff_t ox = 0; ox < ow; ++ox) {
        const float a = r0[2 * ox], b = r0[2 * ox + 1], cc = r1[2 * ox], d = r1[2 * ox + 1];
        // Strict > keeps the first max in window order (0, 1, 2, 3).
        const float top = b > a ? b : a;
        const int top_i = b > a ? 1 : 0;
        const float bot = d > cc ? d : cc;
        const int bot_i = d > cc ? 3 : 2;
        const bool lower = bot > top;
        yp[oy * ow + ox] = lower ? bot : top;
        ap[oy * ow + ox] = static_cast<std::uint8_t>(lower ? bot_i : top_i);
      }
    }
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
