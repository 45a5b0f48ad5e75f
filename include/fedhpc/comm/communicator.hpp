#pragma once
/// Owning wrapper of a duplicated MPI communicator, plus checked MPI calls.
#include <mpi.h>

#include <memory>
#include <string>

namespace fedhpc::comm {

/// Throws CommError("<what> failed: <MPI error string>") unless rc == MPI_SUCCESS.
void mpi_check(int rc, const char* what);

/// A duplicated communicator (freed on destruction); passed, never global.
class Communicator {
 public:
  /// Duplicates `parent` so fedhpc's traffic never mixes with the caller's.
  explicit Communicator(MPI_Comm parent);
  MPI_Comm get() const noexcept { return *comm_; }
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  void barrier() const;
  /// Ends every rank of the job immediately (for failures on one rank only).
  [[noreturn]] void abort(int code) const noexcept;

 private:
  struct Free {
    void operator()(MPI_Comm* c) const noexcept;
  };
  std::unique_ptr<MPI_Comm, Free> comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace fedhpc::comm
