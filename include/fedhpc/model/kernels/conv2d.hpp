#pragma once
/// 2-D convolution (cross-correlation), stride 1, zero padding `pad`, square k x k kernel:
///   y(i, o, oy, ox) = sum_{c, ky, kx} w(o, c, ky, kx) · x(i, c, oy + ky - pad, ox + kx - pad)
/// x (n, in_c, in_h, in_w), w (out_c, in_c, k, k), y (n, out_c, out_h, out_w), row-major.
/// The optimized kernels use im2col: per example cols (K = in_c*k*k, P = out_h*out_w)
/// and one GEMM  y_i (out_c, P) = w (out_c, K) · cols (K, P), which lands in the
/// (n, c, h, w) layout directly. One GEMM over the whole batch, cols (K, n*P),
/// needs y transposed from (out_c, n, P) and a cols buffer of n times the size;
/// measured on LeNet-5 at batch 16-64 it was 10-15% slower for conv1 and
/// within +-6% for conv2, so the per-example form is used.
#include <cstddef>

namespace fedhpc::model::kernels {

/// Geometry of a convolution layer.
struct ConvShape {
  int in_c = 1, in_h = 1, in_w = 1;  ///< input channels and spatial size
  int out_c = 1;                     ///< output channels
  int k = 1;                         ///< kernel height = width
  int pad = 0;                       ///< zero padding on every side
  constexpr int out_h() const { return in_h + 2 * pad - k + 1; }
  constexpr int out_w() const { return in_w + 2 * pad - k + 1; }
  /// Rows of cols: in_c * k * k.
  constexpr int patch() const { return in_c * k * k; }
  /// Output positions per channel: out_h * out_w.
  constexpr int positions() const { return out_h() * out_w(); }
  /// Floats of one example's input / output.
  constexpr int in_size() const { return in_c * in_h * in_w; }
  constexpr int out_size() const { return out_c * positions(); }
};

/// Floats of the cols scratch the optimized kernels need (one example).
std::size_t conv2d_scratch_size(const ConvShape& s);

/// cols (K, P) of one example x (in_c, in_h, in_w): cols((c, ky, kx), (oy, ox)) =
/// x(c, oy + ky - pad, ox + kx - pad), 0 in the padding.
void im2col(const float* x, float* cols, const ConvShape& s);
/// Adjoint of im2col: dx (in_c, in_h, in_w) = sum of cols entries per input pixel (overwrites dx).
void col2im(const float* cols, float* dx, const ConvShape& s);

/// y = conv(x, w) (overwrites y).
void conv2d_forward(const float* x, const float* w, float* y, float* cols, int n, const ConvShape& s);
/// dw (out_c, K) = sum_i dy_i (out_c, P) · cols(x_i)^T (overwrites dw).
void conv2d_backward_weight(const float* x, const float* dy, float* dw, float* cols, int n,
                            const ConvShape& s);
/// dx_i = col2im(w^T (K, out_c) · dy_i (out_c, P)) (overwrites dx).
void conv2d_backward_data(const float* dy, const float* w, float* dx, float* cols, int n,
                          const ConvShape& s);

/// Direct-loop references (no im2col, double accumulation).
void conv2d_forward_ref(const float* x, const float* w, float* y, int n, const ConvShape& s);
void conv2d_backward_weight_ref(const float* x, const float* dy, float* dw, int n,
                                const ConvShape& s);
void conv2d_backward_data_ref(const float* dy, const float* w, float* dx, int n,
                              const ConvShape& s);

}  // namespace fedhpc::model::kernels
