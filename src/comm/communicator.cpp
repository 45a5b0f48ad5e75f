#include "fedhpc/comm/communicator.hpp"

#include <algorithm>
#include <limits>

#include "fedhpc/comm/collectives.hpp"

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

Received exchange_bytes(const Communicator& comm, const std::vector<std::vector<std::byte>>& to) {
  const auto p = static_cast<std::size_t>(comm.size());
  expects(to.size() == p, "exchange_bytes: one buffer per rank");
  constexpr std::size_t kMax = std::numeric_limits<int>::max();
  std::vector<int> send_count(p), send_offset(p), recv_count(p), recv_offset(p);
  std::size_t sent = 0;
  for (std::size_t r = 0; r < p; ++r) {
    send_offset[r] = static_cast<int>(sent);
    sent += to[r].size();
    if (sent >= kMax) throw CommError("exchange_bytes: 2 GiB or more to send in one call");
    send_count[r] = static_cast<int>(to[r].size());
  }
  mpi_check(MPI_Alltoall(send_count.data(), 1, MPI_INT, recv_count.data(), 1, MPI_INT, comm.get()),
            "MPI_Alltoall");
  Received in;
  in.offset.assign(p + 1, 0);
  for (std::size_t r = 0; r < p; ++r) {
    in.offset[r + 1] = in.offset[r] + static_cast<std::size_t>(recv_count[r]);
    if (in.offset[r + 1] >= kMax) throw CommError("exchange_bytes: 2 GiB or more to receive in one call");
    recv_offset[r] = static_cast<int>(in.offset[r]);
  }
  std::vector<std::byte> out(sent);
  for (std::size_t r = 0; r < p; ++r)
    std::copy(to[r].begin(), to[r].end(), out.begin() + send_offset[r]);
  in.bytes.resize(in.offset[p]);
  mpi_check(MPI_Alltoallv(out.data(), send_count.data(), send_offset.data(), MPI_BYTE, in.bytes.data(),
                          recv_count.data(), recv_offset.data(), MPI_BYTE, comm.get()),
            "MPI_Alltoallv");
  return in;
}

}  // namespace fedhpc::comm
