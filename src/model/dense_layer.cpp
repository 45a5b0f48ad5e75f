#include "fedhpc/model/dense_layer.hpp"

#include <algorithm>

#include "fedhpc/model/kernels/dense.hpp"

namespace fedhpc::model {
namespace {
/// Rows of W per tile (at least one).
int tile_rows(const ParamSource& params, int in, int out) {
  const std::size_t t = params.tile_elements() / static_cast<std::size_t>(in);
  return static_cast<int>(std::clamp<std::size_t>(t, 1, static_cast<std::size_t>(out)));
}
}  // namespace

void dense_forward(ParamSource& params, std::size_t var, const float* x, float* y, int n, int in,
                   int out) {
  const int rows = tile_rows(params, in, out);
  for (int r0 = 0; r0 < out; r0 += rows) {
    const int r = std::min(rows, out - r0);
    const ScopedRange w(params, var, static_cast<std::size_t>(r0) * in, static_cast<std::size_t>(r) * in);
    // y[:, r0:r0+r] (n, r; leading dim out) = x (n, in) · W[r0:r0+r]^T
    kernels::dense_forward_ld(x, in, w.data(), in, y + r0, out, n, in, r);
  }
}

void dense_backward_data(ParamSource& params, std::size_t var, const float* dy, float* dx, int n,
                         int in, int out) {
  const int rows = tile_rows(params, in, out);
  for (int r0 = 0; r0 < out; r0 += rows) {
    const int r = std::min(rows, out - r0);
    const ScopedRange w(params, var, static_cast<std::size_t>(r0) * in, static_cast<std::size_t>(r) * in);
    // dx (n, in) += dy[:, r0:r0+r] (n, r; leading dim out) · W[r0:r0+r] (r, in)
    kernels::rank1_update(dy + r0, out, 1, w.data(), in, dx, in, n, in, r, r0 > 0);
  }
}

}  // namespace fedhpc::model
