#pragma once
/// The batch-innermost activation layout (c, h, w, L) the LeNet-5 convolutions
/// use: element (c, y, x) of example i at ((c * h + y) * w + x) * L + i, with L
/// the batch rounded up to a multiple of 16 (kLanes) so one example position of
/// a whole batch is one or two vectors, whatever the channel count or image
/// size. Lanes i >= n are zero in inputs and their gradients.
#include <cstddef>

namespace fedhpc::model::kernels {

/// Lanes of the vector the batch-innermost kernels work in.
inline constexpr int kLanes = 16;
/// Batch n rounded up to a multiple of kLanes.
constexpr int chwn_lanes(int n) { return (n + kLanes - 1) / kLanes * kLanes; }

/// y (c, h + 2 pad, w + 2 pad, L) = x (n, c, h, w) moved to lanes, zero in the
/// pad border and in lanes [n, L) (overwrites y).
void to_chwn(const float* x, float* y, int n, int c, int h, int w, int pad, int lanes);
/// y (n, c, h, w) = lanes [0, n) of x (c, h, w, L) (overwrites y).
void from_chwn(const float* x, float* y, int n, int c, int h, int w, int lanes);
/// y (c, h + 2 pad, w + 2 pad, L) = x (c, h, w, L) inside a zero border of width pad.
void pad_chwn(const float* x, float* y, int c, int h, int w, int pad, int lanes);

}  // namespace fedhpc::model::kernels
