#pragma once
/// 2x2 max-pool with stride 2 over x (n, c, h, w) -> y (n, c, h/2, w/2); an odd
/// last row/column is dropped. arg (n, c, h/2, w/2) stores the position of each
/// window's max as 2*dy + dx in {0, 1, 2, 3} (the first one on ties).
#include <cstdint>

namespace fedhpc::model::kernels {

/// y = window max of x, arg = its position.
void maxpool2_forward(const float* x, float* y, std::uint8_t* arg, int n, int c, int h, int w);
/// dx (n, c, h, w) = dy routed to each window's max, 0 elsewhere (overwrites dx).
void maxpool2_backward(const float* dy, const std::uint8_t* arg, float* dx, int n, int c, int h,
                       int w);

}  // namespace fedhpc::model::kernels
