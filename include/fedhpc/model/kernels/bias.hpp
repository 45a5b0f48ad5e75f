#pragma once
/// Per-channel bias over activations y (n, channels, spatial); dense layers use spatial = 1.
namespace fedhpc::model::kernels {

/// y(i, c, p) += b(c).
void add_bias(const float* b, float* y, int n, int channels, int spatial);
/// db(c) = sum over i, p of dy(i, c, p) (overwrites db).
void bias_backward(const float* dy, float* db, int n, int channels, int spatial);

}  // namespace fedhpc::model::kernels
