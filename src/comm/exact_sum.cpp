#include "fedhpc/comm/exact_sum.hpp"

#include <algorithm>

#include "fedhpc/comm/collectives.hpp"

namespace fedhpc::comm {
namespace {

// User op: element-wise wrapping 128-bit addition (associative and commutative).
void sum_fixed(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const Fixed*>(in);
  auto* b = static_cast<Fixed*>(inout);
  for (int i = 0; i < *len; ++i)
    b[i] = static_cast<Fixed>(static_cast<UFixed>(b[i]) +
                              static_cast<UFixed>(a[i]));
}

/// The MPI datatype (16 contiguous bytes) and op, created once per process.
struct FixedSumOp {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  MPI_Op op = MPI_OP_NULL;
  FixedSumOp() {
    mpi_check(MPI_Type_contiguous(static_cast<int>(sizeof(Fixed)), MPI_BYTE, &type),
              "MPI_Type_contiguous");
    mpi_check(MPI_Type_commit(&type), "MPI_Type_commit");
    mpi_check(MPI_Op_create(&sum_fixed, /*commute=*/1, &op), "MPI_Op_create");
  }
  // Types and ops are released by MPI_Finalize; freeing after it is not allowed.
};

}  // namespace

void allreduce_exact(const Communicator& comm, std::span<Fixed> data) {
  static const FixedSumOp op;
  allreduce(comm, data, op.op, op.type);
}

}  // namespace fedhpc::comm
