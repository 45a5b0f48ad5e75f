#pragma once
/// Typed collectives, chunked below 2^31 elements, MPI_IN_PLACE throughout.
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/comm/communicator.hpp"

namespace fedhpc::comm {

/// Maps a C++ type to its MPI datatype.
template <class T> struct mpi_type;
template <> struct mpi_type<float> { static MPI_Datatype get() { return MPI_FLOAT; } };
template <> struct mpi_type<double> { static MPI_Datatype get() { return MPI_DOUBLE; } };
template <> struct mpi_type<std::int32_t> { static MPI_Datatype get() { return MPI_INT32_T; } };
template <> struct mpi_type<std::int64_t> { static MPI_Datatype get() { return MPI_INT64_T; } };
template <> struct mpi_type<std::uint64_t> { static MPI_Datatype get() { return MPI_UINT64_T; } };
template <> struct mpi_type<char> { static MPI_Datatype get() { return MPI_CHAR; } };

/// Largest element count passed to one MPI call.
inline constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

/// In-place allreduce of `data` with `op`, in chunks of at most kMaxChunk.
template <class T>
void allreduce(const Communicator& comm, std::span<T> data, MPI_Op op,
               MPI_Datatype type = mpi_type<T>::get()) {
  for (std::size_t off = 0; off < data.size(); off += kMaxChunk) {
    const std::size_t n = std::min(kMaxChunk, data.size() - off);
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, data.data() + off, static_cast<int>(n), type, op,
                            comm.get()),
              "MPI_Allreduce");
  }
}

/// Maximum of a scalar over ranks.
template <class T>
T allreduce_max(const Communicator& comm, T value) {
  allreduce(comm, std::span<T>(&value, 1), MPI_MAX);
  return value;
}

/// Broadcast from `root`, chunked.
template <class T>
void broadcast(const Communicator& comm, std::span<T> data, int root = 0) {
  for (std::size_t off = 0; off < data.size(); off += kMaxChunk) {
    const std::size_t n = std::min(kMaxChunk, data.size() - off);
    mpi_check(MPI_Bcast(data.data() + off, static_cast<int>(n), mpi_type<T>::get(), root,
                        comm.get()),
              "MPI_Bcast");
  }
}

/// What exchange_bytes delivered: every rank's bytes for this rank,
/// concatenated in rank order; rank r's are [offset[r], offset[r + 1]).
struct Received {
  std::vector<std::byte> bytes;
  std::vector<std::size_t> offset;  ///< (size + 1)
  std::span<const std::byte> from(int rank) const {
    const auto r = static_cast<std::size_t>(rank);
    return std::span<const std::byte>(bytes).subspan(offset[r], offset[r + 1] - offset[r]);
  }
};

/// Personalised all-to-all: to[r] (one entry per rank) goes to rank r.
/// Collective; counts are exchanged first. Throws CommError if a rank would
/// send or receive 2 GiB or more in one call.
Received exchange_bytes(const Communicator& comm, const std::vector<std::vector<std::byte>>& to);

}  // namespace fedhpc::comm
