#pragma once
/// The end of a LeNet-5 conv block in the batch-innermost layout (kernels/chwn.hpp),
/// fused: 2x2 max-pool with stride 2, then the per-channel bias, then ReLU,
///   y(c, py, px, l) = max(0, max_{dy, dx} x(c, 2 py + dy, 2 px + dx, l) + b(c)),
/// with the same arithmetic and the same argmax (2 dy + dx, the first max on
/// ties) as maxpool2_forward -> add_bias -> relu_forward. An odd last row or
/// column is dropped. x (c, h, w, L), y and arg (c, h/2, w/2, L).
#include <cstdint>

namespace fedhpc::model::kernels {

/// y, arg as above (overwritten).
void pool_bias_relu_chwn_forward(const float* x, const float* b, float* y, std::uint8_t* arg, int c,
                                 int h, int w, int lanes);
/// The adjoint given the block output y and its gradient dy: g = dy where y > 0
/// else 0; db(c) = sum of g over positions and lanes (per lane j of 16 in
/// (position, lane vector) order, then the 16 lanes in a fixed tree);
/// dx (c, h, w, L) = g routed to each window's max, 0 elsewhere. Overwrites dx, db.
void pool_bias_relu_chwn_backward(const float* y, const float* dy, const std::uint8_t* arg, float* dx,
                                  float* db, int c, int h, int w, int lanes);

/// References through the NCHW kernels (maxpool, bias, relu) with the L lanes as the batch.
void pool_bias_relu_chwn_forward_ref(const float* x, const float* b, float* y, std::uint8_t* arg,
                                     int c, int h, int w, int lanes);
void pool_bias_relu_chwn_backward_ref(const float* y, const float* dy, const std::uint8_t* arg,
                                      float* dx, float* db, int c, int h, int w, int lanes);

}  // namespace fedhpc::model::kernels
