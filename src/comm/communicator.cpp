#include "fedhpc/comm/communicator.hpp"

#include "fedhpc/core/error.hpp"

namespace fedhpc::comm {

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw CommError(std::string(what) + " failed: " + std::string(msg, static_cast<size_t>(len)));
}

void Communicator::Free::operator()(MPI_Comm* c) const noexcept {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && *c != MPI_COMM_NULL) MPI_Comm_free(c);
  delete c;
}

Communicator::Communicator(MPI_Comm parent) : comm_(new MPI_Comm(MPI_COMM_NULL)) {
  mpi_check(MPI_Comm_dup(parent, comm_.get()), "MPI_Comm_dup");
  // Errors come back as codes and become CommError instead of aborting silently.
  mpi_check(MPI_Comm_set_errhandler(*comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  mpi_check(MPI_Comm_rank(*comm_, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(*comm_, &size_), "MPI_Comm_size");
}

void Communicator::barrier() const { mpi_check(MPI_Barrier(*comm_), "MPI_Barrier"); }

void Communicator::abort(int code) const noexcept {
  MPI_Abort(*comm_, code);
  std::abort();
}

}  // namespace fedhpc::comm
