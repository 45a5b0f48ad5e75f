#pragma once
/// Row-major single-precision matrix product, the one GEMM all layers use.
///   C (m, n) = op(A) (m, k) · op(B) (k, n)   [+ C when accumulate]
/// op(A) = A stored (m, k) with leading dimension lda, or A^T with A stored (k, m).
#include <cstddef>

namespace fedhpc::model::kernels {

/// Whether an operand is used as stored or transposed.
enum class Op { kNone, kTrans };

/// Eigen GEMM over tiles small enough that Eigen packs them in stack
/// buffers (EIGEN_STACK_ALLOCATION_LIMIT), so it never touches the heap.
void gemm(Op op_a, Op op_b, int m, int n, int k, const float* a, std::ptrdiff_t lda,
          const float* b, std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc, bool accumulate);

/// Plain triple loop with double accumulation; reference for gemm().
void gemm_ref(Op op_a, Op op_b, int m, int n, int k, const float* a, std::ptrdiff_t lda,
              const float* b, std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc, bool accumulate);

}  // namespace fedhpc::model::kernels
