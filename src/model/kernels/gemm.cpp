#include "fedhpc/model/kernels/gemm.hpp"

#include <algorithm>

// GCC 12 reports a false -Wmaybe-uninitialized inside its own AVX-512
// intrinsics (_mm512_undefined_ps) as inlined into Eigen's GEMM packing.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace fedhpc::model::kernels {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;
using MutMap = Eigen::Map<RowMat, Eigen::Unaligned, Eigen::OuterStride<>>;

/// Floats Eigen may pack per operand without falling back to malloc. Eigen's
/// packed blocks are at most (rows x depth) of each operand of a call.
constexpr std::ptrdiff_t kTileFloats = EIGEN_STACK_ALLOCATION_LIMIT / sizeof(float);
static_assert(kTileFloats >= 4096, "EIGEN_STACK_ALLOCATION_LIMIT is too small for tiled GEMM");
/// Depth of one tile; long enough to amortise the write-back of C.
constexpr std::ptrdiff_t kDepthTile = 256;

/// View of op(X)[r0:r0+rows, c0:c0+cols] where X is stored with leading dimension ld.
ConstMap block(Op op, const float* x, std::ptrdiff_t ld, std::ptrdiff_t r0, std::ptrdiff_t c0,
               std::ptrdiff_t rows, std::ptrdiff_t cols) {
  // Stored (rows, cols) for kNone; stored (cols, rows) and mapped transposed for kTrans.
  if (op == Op::kNone) return ConstMap(x + r0 * ld + c0, rows, cols, Eigen::OuterStride<>(ld));
  return ConstMap(x + c0 * ld + r0, cols, rows, Eigen::OuterStride<>(ld));
}

template <bool TransA, bool TransB>
void gemm_tile(const ConstMap& a, const ConstMap& b, MutMap& c, bool accumulate) {
  const auto lhs = [&] {
    if constexpr (TransA) return a.transpose();
    else return a;
  }();
  const auto rhs = [&] {
    if constexpr (TransB) return b.transpose();
    else return b;
  }();
  if (accumulate) c.noalias() += lhs * rhs;
  else c.noalias() = lhs * rhs;
}

}  // namespace

void gemm(Op op_a, Op op_b, int m, int n, int k, const float* a, std::ptrdiff_t lda,
          const float* b, std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (int i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  const std::ptrdiff_t k_tiles = (k + kDepthTile - 1) / kDepthTile;
  const std::ptrdiff_t kb = (k + k_tiles - 1) / k_tiles;  // even split of the depth
  const std::ptrdiff_t mb = std::max<std::ptrdiff_t>(1, kTileFloats / kb);
  const std::ptrdiff_t nb = mb;
  for (std::ptrdiff_t k0 = 0; k0 < k; k0 += kb) {
    const std::ptrdiff_t kk = std::min<std::ptrdiff_t>(kb, k - k0);
    const bool acc = accumulate || k0 > 0;
    for (std::ptrdiff_t m0 = 0; m0 < m; m0 += mb) {
      const std::ptrdiff_t mm = std::min<std::ptrdiff_t>(mb, m - m0);
      const ConstMap at = block(op_a, a, lda, m0, k0, mm, kk);
      for (std::ptrdiff_t n0 = 0; n0 < n; n0 += nb) {
        const std::ptrdiff_t nn = std::min<std::ptrdiff_t>(nb, n - n0);
        const ConstMap bt = block(op_b, b, ldb, k0, n0, kk, nn);
        MutMap ct(c + m0 * ldc + n0, mm, nn, Eigen::OuterStride<>(ldc));
        if (op_a == Op::kNone && op_b == Op::kNone) gemm_tile<false, false>(at, bt, ct, acc);
        else if (op_a == Op::kNone) gemm_tile<false, true>(at, bt, ct, acc);
        else if (op_b == Op::kNone) gemm_tile<true, false>(at, bt, ct, acc);
        else gemm_tile<true, true>(at, bt, ct, acc);
      }
    }
  }
}

void gemm_ref(Op op_a, Op op_b, int m, int n, int k, const float* a, std::ptrdiff_t lda,
              const float* b, std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc, bool accumulate) {
  for (std::ptrdiff_t i = 0; i < m; ++i) {
    for (std::ptrdiff_t j = 0; j < n; ++j) {
      double s = accumulate ? c[i * ldc + j] : 0.0;
      for (std::ptrdiff_t p = 0; p < k; ++p) {
        const float av = op_a == Op::kNone ? a[i * lda + p] : a[p * lda + i];
        const float bv = op_b == Op::kNone ? b[p * ldb + j] : b[j * ldb + p];
        s += static_cast<double>(av) * bv;
      }
      c[i * ldc + j] = static_cast<float>(s);
    }
  }
}

}  // namespace fedhpc::model::kernels
