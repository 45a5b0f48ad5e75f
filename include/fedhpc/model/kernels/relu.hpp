#pragma once
/// Rectified linear unit, in place: y = max(y, 0); backward dy *= [y > 0].
#include <cstddef>

namespace fedhpc::model::kernels {

/// y = max(y, 0) over count elements.
void relu_forward(float* y, std::size_t count);
/// dy = dy where the ReLU output y > 0, else 0 (y is the forward output).
void relu_backward(const float* y, float* dy, std::size_t count);

}  // namespace fedhpc::model::kernels
