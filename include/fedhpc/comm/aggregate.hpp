#pragma once
/// Combining the ranks' exact partial sums: dense, sparse, or integer codes.
///
/// Each rank holds `acc`, the exact (fixed-point, see exact_sum.hpp) sum of
/// its own terms; every path leaves the sum over all ranks on every rank.
///
///   dense      allreduce_exact(acc): 16 bytes per element, whatever the support.
///   sparse     the support sizes are allgathered with a 24-byte header per rank
///              (nnz, n, threshold); if the gathered support
///              T = sum over ranks of nnz exceeds dense_threshold * n, every rank
///              takes the dense path (the decision uses only gathered values, so
///              it is identical everywhere). Otherwise one MPI_Allgatherv moves
///              20-byte (index, value) records and every rank adds the other
///              ranks' records into acc. 128-bit wrapping addition is associative
///              and commutative, so both branches give the dense bits exactly.
///   quantized  in-place MPI_SUM of int32 codes (exact; the caller keeps the sum
///              within int32), after agree_max() has fixed a common scale.
///
/// Sparse record layout: one MPI_Allgatherv with a committed 20-byte contiguous
/// datatype over packed records, bytes [0, 4) the uint32 index and [4, 20) the
/// Fixed value, host byte order (like the dense path, which sends Fixed as raw
/// bytes). One call, not an index call plus a value call: at low density the
/// latency dominates. Counts and displacements are in records, so MPI's int
/// arguments limit the gathered support to 2^31-1 records (40 GiB), not 2^31
/// bytes; beyond that sum_sparse throws CommError on every rank.
///
/// A rank's records are packed straight into its own slot of the receive
/// buffer (MPI_IN_PLACE), and acc, which already holds this rank's terms, only
/// receives the other ranks' records: the same result as zeroing acc and adding
/// every record, without an O(n) pass.
///
/// Argument errors (unsorted or out-of-range support, acc sizes or thresholds
/// differing between ranks, a negative scale) are detected from gathered data,
/// so every rank throws the same InternalError instead of one rank leaving the
/// others waiting in a collective.
#include <cstdint>
#include <span>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/comm/exact_sum.hpp"

namespace fedhpc::comm {

/// How the ranks' partial sums are combined.
enum class AggregatePath : std::int32_t { kDense = 0, kSparse = 1, kQuantized = 2 };

/// "dense", "sparse" or "quantized".
const char* path_name(AggregatePath path) noexcept;

/// Default dense_threshold: the gathered support density T / n above which the
/// dense allreduce is faster (crossover measured by bench_aggregate; see
/// docs/performance.md, "Aggregation paths").
inline constexpr double kDefaultDenseThreshold = 0.5;

/// Bytes of one sparse (index, value) record.
inline constexpr std::int64_t kSparseRecordBytes = 4 + sizeof(Fixed);
/// Bytes each rank contributes to the gathered header (nnz, n, threshold).
inline constexpr std::int64_t kSparseHeaderBytes = 3 * sizeof(std::int64_t);

/// What one aggregation did on this rank (payload bytes, i.e. buffer sizes handed to MPI, not wire bytes).
struct AggregateStats {
  AggregatePath path = AggregatePath::kDense;  ///< the path actually taken
  std::int64_t bytes_sent = 0;       ///< payload this rank contributed
  std::int64_t bytes_received = 0;   ///< payload this rank received
  /// sum_sparse: sum over ranks of support sizes, also when it fell back to
  /// dense (that is why it did); 0 for sum_dense and sum_codes.
  std::int64_t gathered_nnz = 0;
};

/// Reusable buffers of sum_sparse; keep one per aggregation site so repeated
/// calls of similar size do not allocate.
struct SparseScratch {
  std::vector<std::int64_t> headers;  ///< (size, 3) gathered (nnz, n, threshold bits)
  std::vector<int> counts, displs;    ///< (size) records per rank and offsets
  std::vector<unsigned char> records; ///< (T * kSparseRecordBytes) gathered records
};

/// True if sum_sparse with these gathered values takes the dense path:
/// threshold == 0, or gathered_nnz > dense_threshold * n.
bool sparse_takes_dense(std::int64_t gathered_nnz, std::size_t n, double dense_threshold) noexcept;

/// Dense: allreduce_exact(acc). Stats: sent = received = 16*n.
AggregateStats sum_dense(const Communicator& comm, std::span<Fixed> acc);

/// Sparse with fallback. acc = this rank's sum, zero outside `support`
/// (ascending, unique indices < acc.size()); acc.size() and dense_threshold
/// (>= 0; 0 = always dense, +inf = never) must be equal on all ranks.
/// Result bitwise identical to sum_dense. Stats, with p ranks, k = support.size(),
/// T = gathered_nnz, H = kSparseHeaderBytes, R = kSparseRecordBytes:
///   sparse: sent = H + R*k,  received = H*p + R*T
///   dense:  sent = H + 16*n, received = H*p + 16*n
AggregateStats sum_sparse(const Communicator& comm, std::span<Fixed> acc,
                          std::span<const std::uint32_t> support, double dense_threshold,
                          SparseScratch& scratch);

/// As above with a thread-local scratch (kept between calls).
AggregateStats sum_sparse(const Communicator& comm, std::span<Fixed> acc,
                          std::span<const std::uint32_t> support, double dense_threshold);

/// Quantized: in-place exact sum over ranks of integer codes (int32 MPI_SUM;
/// the caller guarantees no overflow). Stats: sent = received = 4*n.
AggregateStats sum_codes(const Communicator& comm, std::span<std::int32_t> codes);

/// Scale agreement: max over ranks of a finite, non-negative double (MPI_MAX).
/// 8 bytes are added to stats->bytes_sent and ->bytes_received if stats is given.
/// Throws InternalError on every rank if any rank passed a negative or non-finite value.
double agree_max(const Communicator& comm, double local, AggregateStats* stats = nullptr);

}  // namespace fedhpc::comm
