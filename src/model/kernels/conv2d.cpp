#include "fedhpc/model/kernels/conv2d.hpp"

#include <algorithm>

#include "fedhpc/model/kernels/gemm.hpp"

namespace fedhpc::model::kernels {

std::size_t conv2d_scratch_size(const ConvShape& s) {
  return static_cast<std::size_t>(s.patch()) * static_cast<std::size_t>(s.positions());
}

void im2col(const float* x, float* cols, const ConvShape& s) {
  const int oh = s.out_h(), ow = s.out_w();
  const std::ptrdiff_t P = s.positions();
  for (int c = 0; c < s.in_c; ++c)
    for (int ky = 0; ky < s.k; ++ky)
      for (int kx = 0; kx < s.k; ++kx) {
        float* row = cols + ((static_cast<std::ptrdiff_t>(c) * s.k + ky) * s.k + kx) * P;
        // Output columns [x0, x1) read inside the input row; the rest is padding.
        const int x0 = std::clamp(s.pad - kx, 0, ow), x1 = std::clamp(s.in_w + s.pad - kx, x0, ow);
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

void col2im(const float* cols, float* dx, const ConvShape& s) {
  const int oh = s.out_h(), ow = s.out_w();
  const std::ptrdiff_t P = s.positions();
  std::fill(dx, dx + s.in_size(), 0.0f);
  for (int c = 0; c < s.in_c; ++c)
    for (int ky = 0; ky < s.k; ++ky)
      for (int kx = 0; kx < s.k; ++kx) {
        const float* row = cols + ((static_cast<std::ptrdiff_t>(c) * s.k + ky) * s.k + kx) * P;
        const int x0 = std::clamp(s.pad - kx, 0, ow), x1 = std::clamp(s.in_w + s.pad - kx, x0, ow);
        for (int oy = 0; oy < oh; ++oy) {
          const int iy = oy + ky - s.pad;
          if (iy < 0 || iy >= s.in_h) continue;
          const float* src = row + static_cast<std::ptrdiff_t>(oy) * ow + x0;
          float* dst = dx + (static_cast<std::ptrdiff_t>(c) * s.in_h + iy) * s.in_w + (x0 + kx - s.pad);
          for (int j = 0; j < x1 - x0; ++j) dst[j] += src[j];
        }
      }
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
