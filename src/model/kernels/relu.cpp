#include "fedhpc/model/kernels/relu.hpp"

namespace fedhpc::model::kernels {

void relu_forward(float* y, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

void relu_backward(const float* y, float* dy, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

}  // namespace fedhpc::model::kernels
