#pragma once
/// Fully connected layer y = x W^T (bias added separately, kernels/bias.hpp).
/// x (n, in), w (out, in), y (n, out); all row-major.
/// The optimized kernels never pack: the forward pass is dot products of rows
/// that are contiguous along `in` (4 x rows x 4 W rows in registers, 16 lanes
/// per FMA, then one fixed reduction tree per output); both gradients are
/// rank-1 updates of 4 output rows x 6 vectors of 16 columns,
/// c[m][:] += a(m, k) · b[k][:] summed over k in order, reading b as stored.
#include <cstddef>

namespace fedhpc::model::kernels {

/// y (n, out) = x (n, in) · w^T.
void dense_forward(const float* x, const float* w, float* y, int n, int in, int out);
/// dx (n, in) = dy (n, out) · w (out, in).
void dense_backward_data(const float* dy, const float* w, float* dx, int n, int in, int out);
/// dw (out, in) = dy^T (out, n) · x (n, in).
void dense_backward_weight(const float* x, const float* dy, float* dw, int n, int in, int out);

/// dense_forward with leading dimensions: y[i * ldy + o] = sum_j x[i * ldx + j] · w[o * ldw + j].
void dense_forward_ld(const float* x, std::ptrdiff_t ldx, const float* w, std::ptrdiff_t ldw, float* y,
                      std::ptrdiff_t ldy, int n, int in, int out);
/// c[i * ldc + j] (=, or += when accumulate) sum_{k < K} a[i * a_m + k * a_k] · b[k * ldb + j]
/// for i < m, j < cols: the gradients' kernel (dy read with any strides, b by rows).
void rank1_update(const float* a, std::ptrdiff_t a_m, std::ptrdiff_t a_k, const float* b,
                  std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc, int m, int cols, int K, bool accumulate);

/// Plain-loop references of the three kernels above.
void dense_forward_ref(const float* x, const float* w, float* y, int n, int in, int out);
void dense_backward_data_ref(const float* dy, const float* w, float* dx, int n, int in, int out);
void dense_backward_weight_ref(const float* x, const float* dy, float* dw, int n, int in, int out);

}  // namespace fedhpc::model::kernels
