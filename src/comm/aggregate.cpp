#include "fedhpc/comm/aggregate.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/core/error.hpp"

namespace fedhpc::comm {
namespace {

/// The 20-byte record datatype (contiguous bytes), created once per process.
struct RecordType {
  MPI_Datatype type = MPI_DATATYPE_NULL;
  RecordType() {
    mpi_check(MPI_Type_contiguous(static_cast<int>(kSparseRecordBytes), MPI_BYTE, &type),
              "MPI_Type_contiguous (sparse record)");
    mpi_check(MPI_Type_commit(&type), "MPI_Type_commit (sparse record)");
  }
  // Released by MPI_Finalize; freeing after it is not allowed.
};

/// Ascending, unique and below n (so support.size() <= n). Runs before the
/// path is known, so also on the dense fallback: branch-free, so it vectorizes.
bool valid_support(std::span<const std::uint32_t> support, std::size_t n) noexcept {
  if (support.empty()) return true;
  unsigned bad = support.back() >= n;
  for (std::size_t i = 1; i < support.size(); ++i) bad |= support[i] <= support[i - 1];
  return bad == 0;
}

/// Throws InternalError on every rank alike: checks use only the gathered
/// headers (nnz or -1, n, threshold bits) of all ranks, identical everywhere.
void check_headers(std::span<const std::int64_t> h, int ranks) {
  const std::int64_t n0 = h[1], thr0 = h[2];
  for (int r = 0; r < ranks; ++r) {
    const std::int64_t* hr = h.data() + 3 * static_cast<std::size_t>(r);
    if (hr[1] != n0)
      throw InternalError("sum_sparse: acc sizes differ between ranks (" + std::to_string(n0) +
                          " on rank 0, " + std::to_string(hr[1]) + " on rank " +
                          std::to_string(r) + ")");
    if (hr[0] < 0)
      throw InternalError("sum_sparse: rank " + std::to_string(r) +
                          " passed a support that is not ascending, unique and below " +
                          std::to_string(n0));
    if (hr[2] != thr0)
      throw InternalError("sum_sparse: dense_threshold differs between ranks (rank " +
                          std::to_string(r) + ")");
  }
  const double thr = std::bit_cast<double>(thr0);
  if (!(thr >= 0.0))
    throw InternalError("sum_sparse: dense_threshold must be >= 0, got " + std::to_string(thr));
}

/// acc[index] += value for every packed record (wrapping 128-bit add).
void add_records(const unsigned char* rec, std::size_t count, std::span<Fixed> acc) noexcept {
  for (std::size_t i = 0; i < count; ++i, rec += kSparseRecordBytes) {
    std::uint32_t index;
    Fixed value;
    std::memcpy(&index, rec, sizeof index);
    std::memcpy(&value, rec + sizeof index, sizeof value);
    acc[index] = static_cast<Fixed>(static_cast<UFixed>(acc[index]) + static_cast<UFixed>(value));
  }
}

}  // namespace

const char* path_name(AggregatePath path) noexcept {
  switch (path) {
    case AggregatePath::kDense: return "dense";
    case AggregatePath::kSparse: return "sparse";
    case AggregatePath::kQuantized: return "quantized";
  }
  return "unknown";
}

bool sparse_takes_dense(std::int64_t gathered_nnz, std::size_t n, double dense_threshold) noexcept {
  return dense_threshold == 0.0 ||
         static_cast<double>(gathered_nnz) > dense_threshold * static_cast<double>(n);
}

AggregateStats sum_dense(const Communicator& comm, std::span<Fixed> acc) {
  allreduce_exact(comm, acc);
  AggregateStats s;
  s.path = AggregatePath::kDense;
  s.bytes_sent = s.bytes_received = static_cast<std::int64_t>(sizeof(Fixed) * acc.size());
  return s;
}

AggregateStats sum_sparse(const Communicator& comm, std::span<Fixed> acc,
                          std::span<const std::uint32_t> support, double dense_threshold,
                          SparseScratch& scratch) {
  static const RecordType record;
  const std::size_t n = acc.size();
  const int ranks = comm.size(), me = comm.rank();

  // Header exchange: sizes decide the path; the rest makes argument errors collective.
  auto& h = scratch.headers;  // (ranks, 3)
  h.resize(3 * static_cast<std::size_t>(ranks));
  std::int64_t* mine = h.data() + 3 * static_cast<std::size_t>(me);
  mine[0] = valid_support(support, n) ? static_cast<std::int64_t>(support.size()) : -1;
  mine[1] = static_cast<std::int64_t>(n);
  mine[2] = std::bit_cast<std::int64_t>(dense_threshold);
  mpi_check(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, h.data(), 3, MPI_INT64_T,
                          comm.get()),
            "MPI_Allgather (sparse header)");
  check_headers(h, ranks);

  std::int64_t total = 0;
  for (int r = 0; r < ranks; ++r) total += h[3 * static_cast<std::size_t>(r)];

  if (sparse_takes_dense(total, n, dense_threshold)) {
    AggregateStats s = sum_dense(comm, acc);
    s.bytes_sent += kSparseHeaderBytes;
    s.bytes_received += kSparseHeaderBytes * ranks;
    s.gathered_nnz = total;
    return s;
  }
  if (total > std::numeric_limits<int>::max())
    throw CommError("sum_sparse: " + std::to_string(total) +
                    " gathered records exceed MPI's int count limit (2^31-1); "
                    "use a finite dense_threshold");

  auto& counts = scratch.counts;  // (ranks)
  auto& displs = scratch.displs;  // (ranks)
  counts.resize(static_cast<std::size_t>(ranks));
  displs.resize(static_cast<std::size_t>(ranks));
  int offset = 0;
  for (int r = 0; r < ranks; ++r) {
    counts[r] = static_cast<int>(h[3 * static_cast<std::size_t>(r)]);
    displs[r] = offset;
    offset += counts[r];
  }
  const auto bytes = static_cast<std::size_t>(total) * kSparseRecordBytes;
  if (scratch.records.size() < bytes) scratch.records.resize(bytes);  // grows only
  unsigned char* rec = scratch.records.data();  // (total, 20) packed records

  // This rank's records go straight into its slot (MPI_IN_PLACE).
  unsigned char* out = rec + static_cast<std::size_t>(displs[me]) * kSparseRecordBytes;
  for (const std::uint32_t j : support) {
    std::memcpy(out, &j, sizeof j);
    std::memcpy(out + sizeof j, &acc[j], sizeof(Fixed));
    out += kSparseRecordBytes;
  }
  if (total > 0)
    mpi_check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, rec, counts.data(),
                             displs.data(), record.type, comm.get()),
              "MPI_Allgatherv (sparse records)");

  // acc already holds this rank's terms: add everyone else's.
  for (int r = 0; r < ranks; ++r)
    if (r != me)
      add_records(rec + static_cast<std::size_t>(displs[r]) * kSparseRecordBytes,
                  static_cast<std::size_t>(counts[r]), acc);

  AggregateStats s;
  s.path = AggregatePath::kSparse;
  s.gathered_nnz = total;
  s.bytes_sent = kSparseHeaderBytes + kSparseRecordBytes * static_cast<std::int64_t>(support.size());
  s.bytes_received = kSparseHeaderBytes * ranks + kSparseRecordBytes * total;
  return s;
}

AggregateStats sum_sparse(const Communicator& comm, std::span<Fixed> acc,
                          std::span<const std::uint32_t> support, double dense_threshold) {
  thread_local SparseScratch scratch;
  return sum_sparse(comm, acc, support, dense_threshold, scratch);
}

AggregateStats sum_codes(const Communicator& comm, std::span<std::int32_t> codes) {
  allreduce(comm, codes, MPI_SUM);
  AggregateStats s;
  s.path = AggregatePath::kQuantized;
  s.bytes_sent = s.bytes_received = static_cast<std::int64_t>(sizeof(std::int32_t) * codes.size());
  return s;
}

double agree_max(const Communicator& comm, double local, AggregateStats* stats) {
  // An invalid value becomes +inf, so every rank sees it and throws together.
  const bool valid = std::isfinite(local) && local >= 0.0;
  const double m =
      allreduce_max(comm, valid ? local : std::numeric_limits<double>::infinity());
  if (stats != nullptr) {
    stats->bytes_sent += static_cast<std::int64_t>(sizeof(double));
    stats->bytes_received += static_cast<std::int64_t>(sizeof(double));
  }
  if (std::isinf(m)) throw InternalError("agree_max: a rank passed a negative or non-finite value");
  return m;
}

}  // namespace fedhpc::comm
