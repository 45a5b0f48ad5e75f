#pragma once
/// Fully connected layer y = x W^T (bias added separately, kernels/bias.hpp).
/// x (n, in), w (out, in), y (n, out); all row-major.
namespace fedhpc::model::kernels {

/// y (n, out) = x (n, in) · w^T.
void dense_forward(const float* x, const float* w, float* y, int n, int in, int out);
/// dx (n, in) = dy (n, out) · w (out, in).
void dense_backward_data(const float* dy, const float* w, float* dx, int n, int in, int out);
/// dw (out, in) = dy^T (out, n) · x (n, in).
void dense_backward_weight(const float* x, const float* dy, float* dw, int n, int in, int out);

/// Plain-loop references of the three kernels above.
void dense_forward_ref(const float* x, const float* w, float* y, int n, int in, int out);
void dense_backward_data_ref(const float* dy, const float* w, float* dx, int n, int in, int out);
void dense_backward_weight_ref(const float* x, const float* dy, float* dw, int n, int in, int out);

}  // namespace fedhpc::model::kernels
