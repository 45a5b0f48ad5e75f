#include "fedhpc/model/kernels/conv2d_chwn.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/kernels/chwn.hpp"
#include "lane16.hpp"

namespace fedhpc::model::kernels {
namespace {

using lane16::V;
using std::ptrdiff_t;

/// Sizes of one call, as locals the compiler can keep in registers.
struct Geo {
  int in_c, ih, iw, oc, oh, ow, k;
  ptrdiff_t L;
  explicit Geo(const ConvShape& s, int lanes)
      : in_c(s.in_c), ih(s.in_h), iw(s.in_w), oc(s.out_c), oh(s.out_h()), ow(s.out_w()), k(s.k), L(lanes) {}
};

/// Largest register block: R output channels x S positions <= 24 accumulators.
constexpr int kMaxS = 8;

/// Output channels [o0, o0 + R) x positions (oy, [ox0, ox0 + S)) x lanes [16 v, 16 v + 16).
/// KC is the kernel size when known at compile time (0: g.k).
template <int R, int S, int KC>
void forward_block(const float* x, const float* w, float* y, const Geo& g, int o0, int oy, int ox0,
                   ptrdiff_t v, int ky0, int ky1, int kx0, int kx1) {
  const int k = KC > 0 ? KC : g.k;
  const ptrdiff_t L = g.L, kk = static_cast<ptrdiff_t>(k) * k, w_o = g.in_c * kk;
  V acc[R][S];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) acc[r][s] = lane16::zero();
  for (int c = 0; c < g.in_c; ++c)
    for (int ky = ky0; ky < ky1; ++ky) {
      const float* xr = x + ((static_cast<ptrdiff_t>(c) * g.ih + oy + ky) * g.iw + ox0) * L + 16 * v;
      const float* wr = w + (o0 * g.in_c + c) * kk + ky * k;
#pragma GCC unroll 8
      for (int kx = 0; kx < k; ++kx) {
        if (kx < kx0 || kx >= kx1) continue;
        V xs[S];
#pragma GCC unroll 8
        for (int s = 0; s < S; ++s) xs[s] = lane16::load(xr + (s + kx) * L);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const V b = lane16::bcast(wr[r * w_o + kx]);
#pragma GCC unroll 8
          for (int s = 0; s < S; ++s) acc[r][s] = lane16::fmadd(b, xs[s], acc[r][s]);
        }
      }
    }
  const ptrdiff_t plane = static_cast<ptrdiff_t>(g.oh) * g.ow;
  float* yp = y + ((o0 * static_cast<ptrdiff_t>(g.oh) + oy) * g.ow + ox0) * L + 16 * v;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) lane16::store(yp + (r * plane + s) * L, acc[r][s]);
}

template <int R, int KC>
void forward_block_s(int S, const float* x, const float* w, float* y, const Geo& g, int o0, int oy,
                     int ox0, ptrdiff_t v, int ky0, int ky1, int kx0, int kx1) {
  switch (S) {
    case 1: return forward_block<R, 1, KC>(x, w, y, g, o0, oy, ox0, v, ky0, ky1, kx0, kx1);
    case 2: return forward_block<R, 2, KC>(x, w, y, g, o0, oy, ox0, v, ky0, ky1, kx0, kx1);
    case 3: return forward_block<R, 3, KC>(x, w, y, g, o0, oy, ox0, v, ky0, ky1, kx0, kx1);
    case 4: return forward_block<R, 4, KC>(x, w, y, g, o0, oy, ox0, v, ky0, ky1, kx0, kx1);
    case 5:
      if constexpr (R <= 4) return forward_block<R, 5, KC>(x, w, y, g, o0, oy, ox0, v, ky0, ky1, kx0, kx1);
      break;
    case 6:
      if constexpr (R <= 4) return forward_block<R, 6, KC>(x, w, y, g, o0, oy, ox0, v, ky0, ky1, kx0, kx1);
      break;
    case 7:
      if constexpr (R <= 3) return forward_block<R, 7, KC>(x, w, y, g, o0, oy, ox0, v, ky0, ky1, kx0, kx1);
      break;
    case 8:
      if constexpr (R <= 3) return forward_block<R, 8, KC>(x, w, y, g, o0, oy, ox0, v, ky0, ky1, kx0, kx1);
      break;
    default: break;
  }
  throw InternalError("conv2d_chwn: no register block of " + std::to_string(R) + " x " + std::to_string(S));
}

/// All positions of output channels [o0, o0 + R): each row split into blocks
/// of near-equal width at most 24 / R. Kernel rows (columns) whose terms only
/// read the zero border of x, `zero` rows and columns wide, are skipped.
template <int R, int KC>
void forward_channels(const float* x, const float* w, float* y, const Geo& g, int o0, int zero) {
  const int smax = std::min(kMaxS, 24 / R);
  const int nb = (g.ow + smax - 1) / smax;
  const int base = g.ow / nb, wide = g.ow % nb;  // `wide` blocks of base + 1, then base
  for (ptrdiff_t v = 0; v < g.L / kLanes; ++v)
    for (int oy = 0; oy < g.oh; ++oy) {
      const int ky0 = std::max(0, zero - oy), ky1 = std::min(g.k, g.ih - zero - oy);
      for (int b = 0, ox0 = 0; b < nb; ++b) {
        const int S = base + (b < wide ? 1 : 0);
        const int kx0 = std::max(0, zero - ox0 - S + 1), kx1 = std::min(g.k, g.iw - zero - ox0);
        forward_block_s<R, KC>(S, x, w, y, g, o0, oy, ox0, v, ky0, ky1, kx0, kx1);
        ox0 += S;
      }
    }
}

template <int KC>
void forward_all(const float* x, const float* w, float* y, const Geo& g, int zero) {
  int o0 = 0;
  if (g.oc % 6 == 0)
    for (; o0 < g.oc; o0 += 6) forward_channels<6, KC>(x, w, y, g, o0, zero);
  for (; o0 + 4 <= g.oc; o0 += 4) forward_channels<4, KC>(x, w, y, g, o0, zero);
  for (; o0 + 2 <= g.oc; o0 += 2) forward_channels<2, KC>(x, w, y, g, o0, zero);
  for (; o0 < g.oc; ++o0) forward_channels<1, KC>(x, w, y, g, o0, zero);
}

/// dw(o0 + r, c, ky, kx0 + t) for r < R, t < T: per-lane sums over (oy, ox, v).
template <int R, int T>
void weight_block(const float* x, const float* dy, float* dw, const Geo& g, int o0, int c, int ky,
                  int kx0) {
  const ptrdiff_t L = g.L, plane = static_cast<ptrdiff_t>(g.oh) * g.ow;
  V acc[R][T];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[r][t] = lane16::zero();
  const ptrdiff_t nv = L / kLanes;
  for (int oy = 0; oy < g.oh; ++oy) {
    const float* xr = x + ((static_cast<ptrdiff_t>(c) * g.ih + oy + ky) * g.iw + kx0) * L;
    const float* dr = dy + (o0 * plane + static_cast<ptrdiff_t>(oy) * g.ow) * L;
    for (int ox = 0; ox < g.ow; ++ox)
      for (ptrdiff_t v = 0; v < nv; ++v) {
        V d[R];
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) d[r] = lane16::load(dr + (r * plane + ox) * L + 16 * v);
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          V xv = lane16::load(xr + (ox + t) * L + 16 * v);
          lane16::in_register(xv);
#pragma GCC unroll 8
          for (int r = 0; r < R; ++r) acc[r][t] = lane16::fmadd(d[r], xv, acc[r][t]);
        }
      }
  }
  const ptrdiff_t kk = static_cast<ptrdiff_t>(g.k) * g.k;
  float* out = dw + (o0 * static_cast<ptrdiff_t>(g.in_c) + c) * kk + ky * g.k + kx0;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) out[r * g.in_c * kk + t] = lane16::hsum(acc[r][t]);
}

template <int R>
void weight_taps(const float* x, const float* dy, float* dw, const Geo& g, int o0) {
  for (int c = 0; c < g.in_c; ++c)
    for (int ky = 0; ky < g.k; ++ky)
      for (int kx0 = 0; kx0 < g.k;) {
        const int T = std::min(5, g.k - kx0);
        switch (T) {
          case 1: weight_block<R, 1>(x, dy, dw, g, o0, c, ky, kx0); break;
          case 2: weight_block<R, 2>(x, dy, dw, g, o0, c, ky, kx0); break;
          case 3: weight_block<R, 3>(x, dy, dw, g, o0, c, ky, kx0); break;
          case 4: weight_block<R, 4>(x, dy, dw, g, o0, c, ky, kx0); break;
          default: weight_block<R, 5>(x, dy, dw, g, o0, c, ky, kx0); break;
        }
        kx0 += T;
      }
}

void check(const ConvShape& s, int lanes) {
  expects(s.pad == 0, "conv2d_chwn: the input must hold its padding (pad 0)");
  expects(lanes > 0 && lanes % kLanes == 0, "conv2d_chwn: lanes must be a positive multiple of 16");
}

}  // namespace

void conv2d_chwn_forward(const float* x, const float* w, float* y, int lanes, const ConvShape& s,
                         int zero_border) {
  check(s, lanes);
  expects(zero_border >= 0 && 2 * zero_border <= std::min(s.in_h, s.in_w),
          "conv2d_chwn_forward: zero_border wider than half the input");
  const Geo g(s, lanes);
  if (g.k == 5) forward_all<5>(x, w, y, g, zero_border);
  else forward_all<0>(x, w, y, g, zero_border);
}

void conv2d_chwn_backward_weight(const float* x, const float* dy, float* dw, int lanes,
                                 const ConvShape& s) {
  check(s, lanes);
  const Geo g(s, lanes);
  int o0 = 0;
  if (g.oc % 4 != 0 && g.oc % 3 == 0)
    for (; o0 < g.oc; o0 += 3) weight_taps<3>(x, dy, dw, g, o0);
  for (; o0 + 4 <= g.oc; o0 += 4) weight_taps<4>(x, dy, dw, g, o0);
  for (; o0 < g.oc; ++o0) weight_taps<1>(x, dy, dw, g, o0);
}

void conv2d_chwn_backward_data(const float* dy_padded, const float* w, float* dx, float* wt,
                               int lanes, const ConvShape& s) {
  check(s, lanes);
  const int k = s.k;
  const ptrdiff_t kk = static_cast<ptrdiff_t>(k) * k;
  // wt(c, o, ky, kx) = w(o, c, k-1-ky, k-1-kx): the adjoint is a forward pass over dy.
  for (int o = 0; o < s.out_c; ++o)
    for (int c = 0; c < s.in_c; ++c)
      for (ptrdiff_t t = 0; t < kk; ++t)
        wt[(static_cast<ptrdiff_t>(c) * s.out_c + o) * kk + t] =
            w[(static_cast<ptrdiff_t>(o) * s.in_c + c) * kk + (kk - 1 - t)];
  const ConvShape adj{s.out_c, s.out_h() + 2 * (k - 1), s.out_w() + 2 * (k - 1), s.in_c, k, 0};
  conv2d_chwn_forward(dy_padded, wt, dx, lanes, adj, k - 1);  // its zero border is skipped
}

void conv2d_chwn_forward_ref(const float* x, const float* w, float* y, int lanes, const ConvShape& s) {
  const Geo g(s, lanes);
  for (int o = 0; o < g.oc; ++o)
    for (int oy = 0; oy < g.oh; ++oy)
      for (int ox = 0; ox < g.ow; ++ox)
        for (ptrdiff_t l = 0; l < g.L; ++l) {
          double acc = 0.0;
          for (int c = 0; c < g.in_c; ++c)
            for (int ky = 0; ky < g.k; ++ky)
              for (int kx = 0; kx < g.k; ++kx)
                acc += static_cast<double>(w[((o * g.in_c + c) * g.k + ky) * g.k + kx]) *
                       x[((static_cast<ptrdiff_t>(c) * g.ih + oy + ky) * g.iw + ox + kx) * g.L + l];
          y[((static_cast<ptrdiff_t>(o) * g.oh + oy) * g.ow + ox) * g.L + l] = static_cast<float>(acc);
        }
}

void conv2d_chwn_backward_weight_ref(const float* x, const float* dy, float* dw, int lanes,
                                     const ConvShape& s) {
  const Geo g(s, lanes);
  for (int o = 0; o < g.oc; ++o)
    for (int c = 0; c < g.in_c; ++c)
      for (int ky = 0; ky < g.k; ++ky)
        for (int kx = 0; kx < g.k; ++kx) {
          double acc = 0.0;
          for (int oy = 0; oy < g.oh; ++oy)
            for (int ox = 0; ox < g.ow; ++ox)
              for (ptrdiff_t l = 0; l < g.L; ++l)
                acc += static_cast<double>(dy[((static_cast<ptrdiff_t>(o) * g.oh + oy) * g.ow + ox) * g.L + l]) *
                       x[((static_cast<ptrdiff_t>(c) * g.ih + oy + ky) * g.iw + ox + kx) * g.L + l];
          dw[((o * g.in_c + c) * g.k + ky) * g.k + kx] = static_cast<float>(acc);
        }
}

void conv2d_chwn_backward_data_ref(const float* dy_padded, const float* w, float* dx, int lanes,
                                   const ConvShape& s) {
  const Geo g(s, lanes);
  const int ph = g.oh + 2 * (g.k - 1), pw = g.ow + 2 * (g.k - 1);  // padded dy
  for (int c = 0; c < g.in_c; ++c)
    for (int iy = 0; iy < g.ih; ++iy)
      for (int ix = 0; ix < g.iw; ++ix)
        for (ptrdiff_t l = 0; l < g.L; ++l) {
          double acc = 0.0;
          for (int o = 0; o < g.oc; ++o)
            for (int ky = 0; ky < g.k; ++ky)
              for (int kx = 0; kx < g.k; ++kx) {
                // dy(o, iy - ky, ix - kx) sits at (iy - ky + k - 1, ix - kx + k - 1) in the padded tensor.
                const int py = iy - ky + g.k - 1, px = ix - kx + g.k - 1;
                acc += static_cast<double>(w[((o * g.in_c + c) * g.k + ky) * g.k + kx]) *
                       dy_padded[((static_cast<ptrdiff_t>(o) * ph + py) * pw + px) * g.L + l];
              }
          dx[((static_cast<ptrdiff_t>(c) * g.ih + iy) * g.iw + ix) * g.L + l] = static_cast<float>(acc);
        }
}

}  // namespace fedhpc::model::kernels
