#include "fedhpc/model/kernels/dense.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

#include "fedhpc/core/error.hpp"
#include "lane16.hpp"

namespace fedhpc::model::kernels {
namespace {

using lane16::V;
using std::ptrdiff_t;

/// y[i0 + ri][o0 + ro] = dot(x row i0 + ri, w row o0 + ro) over K, ri < RI, ro < RO.
/// The rows are contiguous along K: no packing, no broadcasts, one reduction per output.
template <int RI, int RO>
void dot_block(const float* x, ptrdiff_t ldx, const float* w, ptrdiff_t ldw, float* y, ptrdiff_t ldy,
               int K, int i0, int o0) {
  V acc[RO * 4];  // acc[4 ro + ri]: the order hsum16 turns into rows of y
#pragma GCC unroll 16
  for (int a = 0; a < RO * 4; ++a) acc[a] = lane16::zero();
  const float* xr = x + i0 * ldx;
  const float* wr = w + o0 * ldw;
  const auto step = [&](int k, int count) {
    V xv[RI];
#pragma GCC unroll 4
    for (int ri = 0; ri < RI; ++ri) {
      xv[ri] = count == 16 ? lane16::load(xr + ri * ldx + k) : lane16::load_n(xr + ri * ldx + k, count);
      lane16::in_register(xv[ri]);
    }
#pragma GCC unroll 4
    for (int ro = 0; ro < RO; ++ro) {
      V wv = count == 16 ? lane16::load(wr + ro * ldw + k) : lane16::load_n(wr + ro * ldw + k, count);
      lane16::in_register(wv);
#pragma GCC unroll 4
      for (int ri = 0; ri < RI; ++ri) acc[4 * ro + ri] = lane16::fmadd(xv[ri], wv, acc[4 * ro + ri]);
    }
  };
  int k = 0;
  for (; k + 16 <= K; k += 16) step(k, 16);
  if (k < K) step(k, K - k);
#if defined(__AVX512F__)
  if constexpr (RI == 4 && RO == 4) {
    const V s = lane16::hsum16(acc);  // 128-bit lane ri = y[i0 + ri][o0 .. o0 + 4)
    _mm_storeu_ps(y + (i0 + 0) * ldy + o0, _mm512_extractf32x4_ps(s, 0));
    _mm_storeu_ps(y + (i0 + 1) * ldy + o0, _mm512_extractf32x4_ps(s, 1));
    _mm_storeu_ps(y + (i0 + 2) * ldy + o0, _mm512_extractf32x4_ps(s, 2));
    _mm_storeu_ps(y + (i0 + 3) * ldy + o0, _mm512_extractf32x4_ps(s, 3));
    return;
  }
#endif
#pragma GCC unroll 4
  for (int ro = 0; ro < RO; ++ro)
#pragma GCC unroll 4
    for (int ri = 0; ri < RI; ++ri) y[(i0 + ri) * ldy + o0 + ro] = lane16::hsum(acc[4 * ro + ri]);
}

template <int RI>
void dot_rows(const float* x, ptrdiff_t ldx, const float* w, ptrdiff_t ldw, float* y, ptrdiff_t ldy,
              int K, int i0, int o0, int ro) {
  switch (ro) {
    case 1: return dot_block<RI, 1>(x, ldx, w, ldw, y, ldy, K, i0, o0);
    case 2: return dot_block<RI, 2>(x, ldx, w, ldw, y, ldy, K, i0, o0);
    case 3: return dot_block<RI, 3>(x, ldx, w, ldw, y, ldy, K, i0, o0);
    default: return dot_block<RI, 4>(x, ldx, w, ldw, y, ldy, K, i0, o0);
  }
}

/// c[m0 + rm][j0 .. j0 + 16 S) (=, or += when accumulate) sum_k a(m0 + rm, k) · b[k][j0 ..],
/// a(m, k) = a[m * a_m + k * a_k] broadcast; the last vector holds `last` columns.
template <int RM, int S>
void rank1_block(const float* a, ptrdiff_t a_m, ptrdiff_t a_k, const float* b, ptrdiff_t ldb,
                 float* c, ptrdiff_t ldc, int K, int m0, int j0, int last, bool accumulate) {
  V acc[RM][S];
#pragma GCC unroll 8
  for (int rm = 0; rm < RM; ++rm)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      const float* cp = c + (m0 + rm) * ldc + j0 + 16 * s;
      acc[rm][s] = !accumulate ? lane16::zero() : s + 1 < S ? lane16::load(cp) : lane16::load_n(cp, last);
    }
  const float* ar = a + m0 * a_m;
  for (int k = 0; k < K; ++k) {
    const float* br = b + k * ldb + j0;
    V bv[S];
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      bv[s] = s + 1 < S ? lane16::load(br + 16 * s) : lane16::load_n(br + 16 * s, last);
      lane16::in_register(bv[s]);
    }
#pragma GCC unroll 8
    for (int rm = 0; rm < RM; ++rm) {
      const V av = lane16::bcast(ar[rm * a_m + k * a_k]);
#pragma GCC unroll 8
      for (int s = 0; s < S; ++s) acc[rm][s] = lane16::fmadd(av, bv[s], acc[rm][s]);
    }
  }
#pragma GCC unroll 8
  for (int rm = 0; rm < RM; ++rm)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      float* cp = c + (m0 + rm) * ldc + j0 + 16 * s;
      if (s + 1 < S) lane16::store(cp, acc[rm][s]);
      else lane16::store_n(cp, acc[rm][s], last);
    }
}

template <int RM>
void rank1_cols(int S, const float* a, ptrdiff_t a_m, ptrdiff_t a_k, const float* b, ptrdiff_t ldb,
                float* c, ptrdiff_t ldc, int K, int m0, int j0, int last, bool accumulate) {
  switch (S) {
    case 1: return rank1_block<RM, 1>(a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate);
    case 2: return rank1_block<RM, 2>(a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate);
    case 3: return rank1_block<RM, 3>(a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate);
    case 4: return rank1_block<RM, 4>(a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate);
    case 5: return rank1_block<RM, 5>(a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate);
    default: return rank1_block<RM, 6>(a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate);
  }
}

/// Column vectors per register block of rank1 (4 rows x 6 vectors = 24 accumulators).
constexpr int kRank1Rows = 4, kRank1Vectors = 6;

}  // namespace

void dense_forward_ld(const float* x, std::ptrdiff_t ldx, const float* w, std::ptrdiff_t ldw, float* y,
                      std::ptrdiff_t ldy, int n, int in, int out) {
  // W rows outer: a block of 4 rows (4 in floats) stays in L1 while the x rows stream past it.
  for (int o0 = 0; o0 < out; o0 += 4) {
    const int ro = std::min(4, out - o0);
    int i0 = 0;
    for (; i0 + 4 <= n; i0 += 4) dot_rows<4>(x, ldx, w, ldw, y, ldy, in, i0, o0, ro);
    switch (n - i0) {
      case 1: dot_rows<1>(x, ldx, w, ldw, y, ldy, in, i0, o0, ro); break;
      case 2: dot_rows<2>(x, ldx, w, ldw, y, ldy, in, i0, o0, ro); break;
      case 3: dot_rows<3>(x, ldx, w, ldw, y, ldy, in, i0, o0, ro); break;
      default: break;
    }
  }
}

void rank1_update(const float* a, std::ptrdiff_t a_m, std::ptrdiff_t a_k, const float* b,
                  std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc, int m, int cols, int K, bool accumulate) {
  constexpr int kBlockCols = 16 * kRank1Vectors;
  for (int j0 = 0; j0 < cols; j0 += kBlockCols) {
    const int width = std::min(kBlockCols, cols - j0);
    const int S = (width + 15) / 16, last = width - 16 * (S - 1);
    int m0 = 0;
    for (; m0 + kRank1Rows <= m; m0 += kRank1Rows)
      rank1_cols<kRank1Rows>(S, a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate);
    switch (m - m0) {
      case 1: rank1_cols<1>(S, a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate); break;
      case 2: rank1_cols<2>(S, a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate); break;
      case 3: rank1_cols<3>(S, a, a_m, a_k, b, ldb, c, ldc, K, m0, j0, last, accumulate); break;
      default: break;
    }
  }
}

void dense_forward(const float* x, const float* w, float* y, int n, int in, int out) {
  dense_forward_ld(x, in, w, in, y, out, n, in, out);
}

void dense_backward_data(const float* dy, const float* w, float* dx, int n, int in, int out) {
  // dx (n, in) = sum_o dy(i, o) · w[o][:]
  rank1_update(dy, out, 1, w, in, dx, in, n, in, out, false);
}

void dense_backward_weight(const float* x, const float* dy, float* dw, int n, int in, int out) {
  // dw (out, in) = sum_i dy(i, o) · x[i][:]
  rank1_update(dy, 1, out, x, in, dw, in, out, in, n, false);
}
void dense_forward_ref(const float* x, const float* w, float* y, int n, int in, int out) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (std::ptrdiff_t o = 0; o < out; ++o) {
      double s = 0.0;
      for (std::ptrdiff_t j = 0; j < in; ++j) s += static_cast<double>(x[i * in + j]) * w[o * in + j];
      y[i * out + o] = static_cast<float>(s);
    }
}

void dense_backward_data_ref(const float* dy, const float* w, float* dx, int n, int in, int out) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (std::ptrdiff_t j = 0; j < in; ++j) {
      double s = 0.0;
      for (std::ptrdiff_t o = 0; o < out; ++o) s += static_cast<double>(dy[i * out + o]) * w[o * in + j];
      dx[i * in + j] = static_cast<float>(s);
    }
}

void dense_backward_weight_ref(const float* x, const float* dy, float* dw, int n, int in, int out) {
  for (std::ptrdiff_t o = 0; o < out; ++o)
    for (std::ptrdiff_t j = 0; j < in; ++j) {
      double s = 0.0;
      for (std::ptrdiff_t i = 0; i < n; ++i) s += static_cast<double>(dy[i * out + o]) * x[i * in + j];
      dw[o * in + j] = static_cast<float>(s);
    }
}

}  // namespace fedhpc::model::kernels
