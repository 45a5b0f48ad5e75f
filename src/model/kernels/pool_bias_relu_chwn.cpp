#include "fedhpc/model/kernels/pool_bias_relu_chwn.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "fedhpc/model/kernels/bias.hpp"
#include "fedhpc/model/kernels/chwn.hpp"
#include "fedhpc/model/kernels/maxpool.hpp"
#include "fedhpc/model/kernels/relu.hpp"

namespace fedhpc::model::kernels {

using std::ptrdiff_t;

namespace {

/// One window position over L lanes; restrict because the byte stores could alias.
void pool_lanes(const float* __restrict r0, const float* __restrict r1, float bias, float* __restrict y,
                std::uint8_t* __restrict arg, ptrdiff_t L) {
#if defined(__AVX512F__)
  // The loop below with masks; max(v, 0) is v > 0 ? v : 0 exactly (also for -0 and NaN).
  const __m512 zero = _mm512_setzero_ps(), b16 = _mm512_set1_ps(bias);
  const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2);
  for (ptrdiff_t l = 0; l < L; l += kLanes) {
    const __m512 a = _mm512_loadu_ps(r0 + l), b = _mm512_loadu_ps(r0 + L + l);
    const __m512 c = _mm512_loadu_ps(r1 + l), d = _mm512_loadu_ps(r1 + L + l);
    const __mmask16 right_top = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ);
    const __mmask16 right_bot = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ);
    const __m512 top = _mm512_mask_blend_ps(right_top, a, b), bot = _mm512_mask_blend_ps(right_bot, c, d);
    const __mmask16 lower = _mm512_cmp_ps_mask(bot, top, _CMP_GT_OQ);
    const __m512 v = _mm512_add_ps(_mm512_mask_blend_ps(lower, top, bot), b16);
    _mm512_storeu_ps(y + l, _mm512_max_ps(v, zero));
    const __m512i upper = _mm512_maskz_mov_epi32(right_top, one);
    const __m512i below = _mm512_mask_add_epi32(two, right_bot, two, one);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(arg + l),
                     _mm512_cvtepi32_epi8(_mm512_mask_blend_epi32(lower, upper, below)));
  }
#else
  for (ptrdiff_t l = 0; l < L; ++l) {
    const float a = r0[l], b = r0[L + l], c = r1[l], d = r1[L + l];
    // Strict > keeps the first max in window order (0, 1, 2, 3), as maxpool2_forward.
    const int right_top = b > a, right_bot = d > c;
    const float top = right_top ? b : a, bot = right_bot ? d : c;
    const int lower = bot > top;
    const float v = (lower ? bot : top) + bias;
    y[l] = v > 0.0f ? v : 0.0f;
    arg[l] = static_cast<std::uint8_t>(lower * (2 + right_bot) + (1 - lower) * right_top);
  }
#endif
}

/// Gradient of one window position over L lanes; part[j] sums g over lanes j mod 16.
void unpool_lanes(const float* __restrict y, const float* __restrict dy, const std::uint8_t* __restrict arg,
                  float* __restrict r0, float* __restrict r1, float* __restrict part, ptrdiff_t L) {
#if defined(__AVX512F__)
  __m512 acc = _mm512_loadu_ps(part);
  const __m512 zero = _mm512_setzero_ps();
  for (ptrdiff_t l = 0; l < L; l += kLanes) {
    const __mmask16 pos = _mm512_cmp_ps_mask(_mm512_loadu_ps(y + l), zero, _CMP_GT_OQ);
    const __m512 g = _mm512_maskz_mov_ps(pos, _mm512_loadu_ps(dy + l));
    const __m512i a = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(arg + l)));
    _mm512_storeu_ps(r0 + l, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(a, _mm512_set1_epi32(0)), g));
    _mm512_storeu_ps(r0 + L + l, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(a, _mm512_set1_epi32(1)), g));
    _mm512_storeu_ps(r1 + l, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(a, _mm512_set1_epi32(2)), g));
    _mm512_storeu_ps(r1 + L + l, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(a, _mm512_set1_epi32(3)), g));
    acc = _mm512_add_ps(acc, g);
  }
  _mm512_storeu_ps(part, acc);
#else
  for (ptrdiff_t v = 0; v < L; v += kLanes)
    for (ptrdiff_t j = 0; j < kLanes; ++j) {
      const ptrdiff_t l = v + j;
      const float g = y[l] > 0.0f ? dy[l] : 0.0f;
      const int a = arg[l];
      r0[l] = a == 0 ? g : 0.0f;
      r0[L + l] = a == 1 ? g : 0.0f;
      r1[l] = a == 2 ? g : 0.0f;
      r1[L + l] = a == 3 ? g : 0.0f;
      part[j] += g;
    }
#endif
}

}  // namespace

void pool_bias_relu_chwn_forward(const float* x, const float* b, float* y, std::uint8_t* arg, int c,
                                 int h, int w, int lanes) {
  const ptrdiff_t oh = h / 2, ow = w / 2, L = lanes;
  for (ptrdiff_t ch = 0; ch < c; ++ch)
    for (ptrdiff_t py = 0; py < oh; ++py)
      for (ptrdiff_t px = 0; px < ow; ++px) {
        const float* r0 = x + ((ch * h + 2 * py) * w + 2 * px) * L;
        const ptrdiff_t o = ((ch * oh + py) * ow + px) * L;
        pool_lanes(r0, r0 + w * L, b[ch], y + o, arg + o, L);
      }
}

void pool_bias_relu_chwn_backward(const float* y, const float* dy, const std::uint8_t* arg, float* dx,
                                  float* db, int c, int h, int w, int lanes) {
  const ptrdiff_t oh = h / 2, ow = w / 2, L = lanes;
  if (h % 2 != 0 || w % 2 != 0) std::fill(dx, dx + c * static_cast<ptrdiff_t>(h) * w * L, 0.0f);
  for (ptrdiff_t ch = 0; ch < c; ++ch) {
    alignas(64) float part[kLanes] = {};
    for (ptrdiff_t py = 0; py < oh; ++py)
      for (ptrdiff_t px = 0; px < ow; ++px) {
        float* r0 = dx + ((ch * h + 2 * py) * w + 2 * px) * L;
        const ptrdiff_t o = ((ch * oh + py) * ow + px) * L;
        unpool_lanes(y + o, dy + o, arg + o, r0, r0 + w * L, part, L);
      }
    for (int width = kLanes / 2; width >= 1; width /= 2)
      for (int j = 0; j < width; ++j) part[j] += part[j + width];
    db[ch] = part[0];
  }
}

namespace {

/// arg (c, h, w, L) bytes -> (L, c, h, w).
std::vector<std::uint8_t> arg_to_nchw(const std::uint8_t* arg, ptrdiff_t per, ptrdiff_t L) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(per * L));
  for (ptrdiff_t l = 0; l < L; ++l)
    for (ptrdiff_t p = 0; p < per; ++p) out[static_cast<std::size_t>(l * per + p)] = arg[p * L + l];
  return out;
}

}  // namespace

void pool_bias_relu_chwn_forward_ref(const float* x, const float* b, float* y, std::uint8_t* arg,
                                     int c, int h, int w, int lanes) {
  const ptrdiff_t L = lanes, in = static_cast<ptrdiff_t>(c) * h * w, out = static_cast<ptrdiff_t>(c) * (h / 2) * (w / 2);
  std::vector<float> xn(static_cast<std::size_t>(in * L)), yn(static_cast<std::size_t>(out * L));
  std::vector<std::uint8_t> an(yn.size());
  from_chwn(x, xn.data(), lanes, c, h, w, lanes);
  maxpool2_forward(xn.data(), yn.data(), an.data(), lanes, c, h, w);
  add_bias(b, yn.data(), lanes, c, (h / 2) * (w / 2));
  relu_forward(yn.data(), yn.size());
  to_chwn(yn.data(), y, lanes, c, h / 2, w / 2, 0, lanes);
  for (ptrdiff_t l = 0; l < L; ++l)
    for (ptrdiff_t p = 0; p < out; ++p) arg[p * L + l] = an[static_cast<std::size_t>(l * out + p)];
}

void pool_bias_relu_chwn_backward_ref(const float* y, const float* dy, const std::uint8_t* arg,
                                      float* dx, float* db, int c, int h, int w, int lanes) {
  const ptrdiff_t L = lanes, in = static_cast<ptrdiff_t>(c) * h * w, out = static_cast<ptrdiff_t>(c) * (h / 2) * (w / 2);
  std::vector<float> yn(static_cast<std::size_t>(out * L)), gn(yn.size()), dxn(static_cast<std::size_t>(in * L));
  from_chwn(y, yn.data(), lanes, c, h / 2, w / 2, lanes);
  from_chwn(dy, gn.data(), lanes, c, h / 2, w / 2, lanes);
  relu_backward(yn.data(), gn.data(), gn.size());
  bias_backward(gn.data(), db, lanes, c, (h / 2) * (w / 2));
  const auto an = arg_to_nchw(arg, out, L);
  maxpool2_backward(gn.data(), an.data(), dxn.data(), lanes, c, h, w);
  to_chwn(dxn.data(), dx, lanes, c, h, w, 0, lanes);
}

}  // namespace fedhpc::model::kernels
