#include "fedhpc/model/kernels/conv2d.hpp"

#include <algorithm>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "fedhpc/model/kernels/gemm.hpp"

namespace fedhpc::model::kernels {
namespace {

/// Output columns [x0, x1) of kernel column kx read inside the input row; the rest is padding.
struct ColRange {
  int x0, x1;
};
ColRange col_range(const ConvShape& s, int kx) {
  const int ow = s.out_w();
  const int x0 = std::clamp(s.pad - kx, 0, ow);
  return {x0, std::clamp(s.in_w + s.pad - kx, x0, ow)};
}

/// Any geometry: row segments through std::copy / std::fill.
void im2col_generic(const float* x, float* cols, const ConvShape& s) {
  const int oh = s.out_h(), ow = s.out_w();
  const std::ptrdiff_t P = s.positions();
  for (int c = 0; c < s.in_c; ++c)
    for (int ky = 0; ky < s.k; ++ky)
      for (int kx = 0; kx < s.k; ++kx) {
        float* row = cols + ((static_cast<std::ptrdiff_t>(c) * s.k + ky) * s.k + kx) * P;
        const auto [x0, x1] = col_range(s, kx);
        for (int oy = 0; oy < oh; ++oy) {
          float* r = row + static_cast<std::ptrdiff_t>(oy) * ow;
          const int iy = oy + ky - s.pad;
          if (iy < 0 || iy >= s.in_h) {
            std::fill(r, r + ow, 0.0f);
            continue;
          }
          const float* src = x + (static_cast<std::ptrdiff_t>(c) * s.in_h + iy) * s.in_w + (x0 + kx - s.pad);
          std::fill(r, r + x0, 0.0f);
          std::copy(src, src + (x1 - x0), r + x0);
          std::fill(r + x1, r + ow, 0.0f);
        }
      }
}

void col2im_generic(const float* cols, float* dx, const ConvShape& s) {
  const int oh = s.out_h(), ow = s.out_w();
  const std::ptrdiff_t P = s.positions();
  std::fill(dx, dx + s.in_size(), 0.0f);
  for (int c = 0; c < s.in_c; ++c)
    for (int ky = 0; ky < s.k; ++ky)
      for (int kx = 0; kx < s.k; ++kx) {
        const float* row = cols + ((static_cast<std::ptrdiff_t>(c) * s.k + ky) * s.k + kx) * P;
        const auto [x0, x1] = col_range(s, kx);
        for (int oy = 0; oy < oh; ++oy) {
          const int iy = oy + ky - s.pad;
          if (iy < 0 || iy >= s.in_h) continue;
          const float* src = row + static_cast<std::ptrdiff_t>(oy) * ow + x0;
          float* dst = dx + (static_cast<std::ptrdiff_t>(c) * s.in_h + iy) * s.in_w + (x0 + kx - s.pad);
          for (int j = 0; j < x1 - x0; ++j) dst[j] += src[j];
        }
      }
}

#if defined(__AVX512F__)
// Rows of at most 32 floats (LeNet-5: 28 and 14 wide) live in two zmm
// registers. im2col loads each input row once and writes its k shifted copies
// with lane permutes; col2im sums the k*k shifted cols rows of one input row
// in registers and stores it once. This replaces thousands of short row
// copies (memmove calls, store-forwarding stalls in col2im) per example.
constexpr int kFastMaxWidth = 32;
constexpr int kFastMaxK = 16;

bool fast_path(const ConvShape& s) {
  return s.in_w <= kFastMaxWidth && s.out_w() <= kFastMaxWidth && s.k <= kFastMaxK;
}

__mmask16 lanes(int len) {
  return len >= 16 ? static_cast<__mmask16>(0xFFFF)
                   : len <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << len) - 1u);
}

/// Selects out[l] = in[16 * chunk + l + shift] from a 32-lane row (v0, v1); 0 outside [0, 32).
struct LaneShift {
  __m512i idx[2];
  __mmask16 keep[2];
};

LaneShift make_shift(int shift) {
  LaneShift sh{};
  for (int chunk = 0; chunk < 2; ++chunk) {
    alignas(64) std::int32_t idx[16];
    unsigned keep = 0;
    for (int l = 0; l < 16; ++l) {
      const int src = 16 * chunk + l + shift;
      idx[l] = src & 31;
      if (src >= 0 && src < 32) keep |= 1u << l;
    }
    sh.idx[chunk] = _mm512_load_si512(idx);
    sh.keep[chunk] = static_cast<__mmask16>(keep);
  }
  return sh;
}

/// Row of `len` <= 32 floats as two registers, zero beyond len.
void load_row(const float* src, int len, __m512& v0, __m512& v1) {
  v0 = _mm512_maskz_loadu_ps(lanes(len), src);
  v1 = len > 16 ? _mm512_maskz_loadu_ps(lanes(len - 16), src + 16) : _mm512_setzero_ps();
}

void im2col_fast(const float* x, float* cols, const ConvShape& s) {
  // Locals: the stores below may alias anything, so members of s would be reloaded.
  const int in_c = s.in_c, in_h = s.in_h, in_w = s.in_w, k = s.k, pad = s.pad;
  const int oh = s.out_h(), ow = s.out_w();
  const std::ptrdiff_t P = s.positions();
  LaneShift sh[kFastMaxK];
  for (int kx = 0; kx < k; ++kx) sh[kx] = make_shift(kx - pad);  // cols(ox) = x(ox + kx - pad)
  // A row's last chunk is stored with all 16 lanes when the spill past ow
  // stays inside the block: it lands in later rows, which are written
  // afterwards. Rows near the end of a block are stored masked.
  const bool two = ow > 16;
  const __mmask16 tail = lanes(two ? ow - 16 : ow);
  const std::ptrdiff_t spill_end = two ? 32 : 16;
  for (int c = 0; c < in_c; ++c)
    for (int ky = 0; ky < k; ++ky) {
      float* rows = cols + (static_cast<std::ptrdiff_t>(c) * k + ky) * k * P;  // kx = 0
      for (int oy = 0; oy < oh; ++oy) {
        const int iy = oy + ky - pad;
        __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
        if (iy >= 0 && iy < in_h)
          load_row(x + (static_cast<std::ptrdiff_t>(c) * in_h + iy) * in_w, in_w, v0, v1);
        const bool full = static_cast<std::ptrdiff_t>(oy) * ow + spill_end <= P;
        const __mmask16 m = full ? static_cast<__mmask16>(0xFFFF) : tail;
        float* dst = rows + static_cast<std::ptrdiff_t>(oy) * ow;
        for (int kx = 0; kx < k; ++kx, dst += P) {
          const __m512 lo = _mm512_maskz_permutex2var_ps(sh[kx].keep[0], v0, sh[kx].idx[0], v1);
          if (two) {
            _mm512_storeu_ps(dst, lo);
            _mm512_mask_storeu_ps(dst + 16, m, _mm512_maskz_permutex2var_ps(sh[kx].keep[1], v0, sh[kx].idx[1], v1));
          } else {
            _mm512_mask_storeu_ps(dst, m, lo);
          }
        }
      }
    }
}

void col2im_fast(const float* cols, float* dx, const ConvShape& s) {
  const int oh = s.out_h(), ow = s.out_w();
  const std::ptrdiff_t P = s.positions();
  LaneShift sh[kFastMaxK];
  for (int kx = 0; kx < s.k; ++kx) sh[kx] = make_shift(s.pad - kx);  // dx(ix) += cols(ix - kx + pad)
  const __mmask16 st0 = lanes(s.in_w), st1 = lanes(s.in_w - 16);
  for (int c = 0; c < s.in_c; ++c)
    for (int iy = 0; iy < s.in_h; ++iy) {
      __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
      for (int ky = 0; ky < s.k; ++ky) {
        const int oy = iy + s.pad - ky;
        if (oy < 0 || oy >= oh) continue;
        const float* src = cols + (static_cast<std::ptrdiff_t>(c) * s.k + ky) * s.k * P +
                           static_cast<std::ptrdiff_t>(oy) * ow;
        for (int kx = 0; kx < s.k; ++kx, src += P) {
          __m512 u0, u1;
          load_row(src, ow, u0, u1);
          acc0 = _mm512_add_ps(acc0, _mm512_maskz_permutex2var_ps(sh[kx].keep[0], u0, sh[kx].idx[0], u1));
          if (s.in_w > 16)
            acc1 = _mm512_add_ps(acc1, _mm512_maskz_permutex2var_ps(sh[kx].keep[1], u0, sh[kx].idx[1], u1));
        }
      }
      float* dst = dx + (static_cast<std::ptrdiff_t>(c) * s.in_h + iy) * s.in_w;
      _mm512_mask_storeu_ps(dst, st0, acc0);
      if (s.in_w > 16) _mm512_mask_storeu_ps(dst + 16, st1, acc1);
    }
}
#endif

}  // namespace

std::size_t conv2d_scratch_size(const ConvShape& s) {
  return static_cast<std::size_t>(s.patch()) * static_cast<std::size_t>(s.positions());
}

void im2col(const float* x, float* cols, const ConvShape& s) {
#if defined(__AVX512F__)
  if (fast_path(s)) return im2col_fast(x, cols, s);
#endif
  im2col_generic(x, cols, s);
}

void col2im(const float* cols, float* dx, const ConvShape& s) {
#if defined(__AVX512F__)
  if (fast_path(s)) return col2im_fast(cols, dx, s);
#endif
  col2im_generic(cols, dx, s);
}

void conv2d_forward(const float* x, const float* w, float* y, float* cols, int n, const ConvShape& s) {
  const int K = s.patch(), P = s.positions();
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    im2col(x + i * s.in_size(), cols, s);
    // y_i (out_c, P) = w (out_c, K) · cols (K, P)
    gemm(Op::kNone, Op::kNone, s.out_c, P, K, w, K, cols, P, y + i * s.out_size(), P, false);
  }
}

void conv2d_backward_weight(const float* x, const float* dy, float* dw, float* cols, int n,
                            const ConvShape& s) {
  const int K = s.patch(), P = s.positions();
  if (n <= 0) std::fill(dw, dw + static_cast<std::ptrdiff_t>(s.out_c) * K, 0.0f);
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    im2col(x + i * s.in_size(), cols, s);
    // dw (out_c, K) += dy_i (out_c, P) · cols^T (P, K)
    gemm(Op::kNone, Op::kTrans, s.out_c, K, P, dy + i * s.out_size(), P, cols, P, dw, K, i > 0);
  }
}

void conv2d_backward_data(const float* dy, const float* w, float* dx, float* cols, int n,
                          const ConvShape& s) {
  const int K = s.patch(), P = s.positions();
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    // cols (K, P) = w^T (K, out_c) · dy_i (out_c, P)
    gemm(Op::kTrans, Op::kNone, K, P, s.out_c, w, K, dy + i * s.out_size(), P, cols, P, false);
    col2im(cols, dx + i * s.in_size(), s);
  }
}

namespace {

/// x(i, c, iy, ix) with zero padding outside the image.
float at(const float* x, std::ptrdiff_t i, int c, int iy, int ix, const ConvShape& s) {
  if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) return 0.0f;
  return x[((i * s.in_c + c) * s.in_h + iy) * s.in_w + ix];
}

}  // namespace

void conv2d_forward_ref(const float* x, const float* w, float* y, int n, const ConvShape& s) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (int o = 0; o < s.out_c; ++o)
      for (int oy = 0; oy < s.out_h(); ++oy)
        for (int ox = 0; ox < s.out_w(); ++ox) {
          double acc = 0.0;
          for (int c = 0; c < s.in_c; ++c)
            for (int ky = 0; ky < s.k; ++ky)
              for (int kx = 0; kx < s.k; ++kx)
                acc += static_cast<double>(w[((o * s.in_c + c) * s.k + ky) * s.k + kx]) *
                       at(x, i, c, oy + ky - s.pad, ox + kx - s.pad, s);
          y[((i * s.out_c + o) * s.out_h() + oy) * s.out_w() + ox] = static_cast<float>(acc);
        }
}

void conv2d_backward_weight_ref(const float* x, const float* dy, float* dw, int n,
                                const ConvShape& s) {
  for (int o = 0; o < s.out_c; ++o)
    for (int c = 0; c < s.in_c; ++c)
      for (int ky = 0; ky < s.k; ++ky)
        for (int kx = 0; kx < s.k; ++kx) {
          double acc = 0.0;
          for (std::ptrdiff_t i = 0; i < n; ++i)
            for (int oy = 0; oy < s.out_h(); ++oy)
              for (int ox = 0; ox < s.out_w(); ++ox)
                acc += static_cast<double>(dy[((i * s.out_c + o) * s.out_h() + oy) * s.out_w() + ox]) *
                       at(x, i, c, oy + ky - s.pad, ox + kx - s.pad, s);
          dw[((o * s.in_c + c) * s.k + ky) * s.k + kx] = static_cast<float>(acc);
        }
}

void conv2d_backward_data_ref(const float* dy, const float* w, float* dx, int n,
                              const ConvShape& s) {
  // dx(i, c, iy, ix) = sum over (o, ky, kx) with oy = iy - ky + pad, ox = ix - kx + pad in range.
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (int c = 0; c < s.in_c; ++c)
      for (int iy = 0; iy < s.in_h; ++iy)
        for (int ix = 0; ix < s.in_w; ++ix) {
          double acc = 0.0;
          for (int o = 0; o < s.out_c; ++o)
            for (int ky = 0; ky < s.k; ++ky)
              for (int kx = 0; kx < s.k; ++kx) {
                const int oy = iy - ky + s.pad, ox = ix - kx + s.pad;
                if (oy < 0 || oy >= s.out_h() || ox < 0 || ox >= s.out_w()) continue;
                acc += static_cast<double>(w[((o * s.in_c + c) * s.k + ky) * s.k + kx]) *
                       dy[((i * s.out_c + o) * s.out_h() + oy) * s.out_w() + ox];
              }
          dx[((i * s.in_c + c) * s.in_h + iy) * s.in_w + ix] = static_cast<float>(acc);
        }
}

}  // namespace fedhpc::model::kernels
