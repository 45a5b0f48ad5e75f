#include "fedhpc/model/kernels/dense.hpp"

#include <cstddef>

#include "fedhpc/model/kernels/gemm.hpp"

namespace fedhpc::model::kernels {

void dense_forward(const float* x, const float* w, float* y, int n, int in, int out) {
  gemm(Op::kNone, Op::kTrans, n, out, in, x, in, w, in, y, out, false);
}

void dense_backward_data(const float* dy, const float* w, float* dx, int n, int in, int out) {
  gemm(Op::kNone, Op::kNone, n, in, out, dy, out, w, in, dx, in, false);
}

void dense_backward_weight(const float* x, const float* dy, float* dw, int n, int in, int out) {
  gemm(Op::kTrans, Op::kNone, out, in, n, dy, out, x, in, dw, in, false);
}

void dense_forward_ref(const float* x, const float* w, float* y, int n, int in, int out) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (std::ptrdiff_t o = 0; o < out; ++o) {
      double s = 0.0;
      for (std::ptrdiff_t j = 0; j < in; ++j) s += static_cast<double>(x[i * in + j]) * w[o * in + j];
      y[i * out + o] = static_cast<float>(s);
    }
}

void dense_backward_data_ref(const float* dy, const float* w, float* dx, int n, int in, int out) {
  for (std::ptrdiff_t i = 0; i < n; ++i)
    for (std::ptrdiff_t j = 0; j < in; ++j) {
      double s = 0.0;
      for (std::ptrdiff_t o = 0; o < out; ++o) s += static_cast<double>(dy[i * out + o]) * w[o * in + j];
      dx[i * in + j] = static_cast<float>(s);
    }
}

void dense_backward_weight_ref(const float* x, const float* dy, float* dw, int n, int in, int out) {
  for (std::ptrdiff_t o = 0; o < out; ++o)
    for (std::ptrdiff_t j = 0; j < in; ++j) {
      double s = 0.0;
      for (std::ptrdiff_t i = 0; i < n; ++i) s += static_cast<double>(dy[i * out + o]) * x[i * in + j];
      dw[o * in + j] = static_cast<float>(s);
    }
}

}  // namespace fedhpc::model::kernels
