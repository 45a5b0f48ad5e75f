// The sparse and quantized aggregation paths give the dense (and the
// single-process reference) bits for any rank count, and report what they did.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fedhpc/comm/aggregate.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

using namespace fedhpc;
using comm::AggregatePath;
using comm::Fixed;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// K clients, each with a sparse update of n elements; client k keeps each
/// element with probability density(k). Clients are dealt round-robin to ranks.
struct Case {
  int id;
  std::size_t n;
  int clients;
  std::vector<double> density;  ///< client k uses density[k % size()]
};

// Values whose float sum depends on order: large and tiny magnitudes, both signs.
double term(const Case& c, int k, std::size_t j) {
  Rng rng(11, Purpose::kBench, static_cast<std::uint64_t>(c.id * 1000 + k), j);
  return rng.normal() * std::ldexp(1.0, static_cast<int>(rng.below(40)) - 20);
}

/// Adds client k's terms into acc and marks its support.
void add_client(const Case& c, int k, std::vector<Fixed>& acc, std::vector<char>& used) {
  Rng pick(12, Purpose::kBench, static_cast<std::uint64_t>(c.id * 1000 + k));
  const double d = c.density[static_cast<std::size_t>(k) % c.density.size()];
  for (std::size_t j = 0; j < c.n; ++j)
    if (pick.uniform() < d) {
      acc[j] += comm::to_fixed(term(c, k, j));
      used[j] = 1;
    }
}

/// One rank's sum: acc (n) zero outside support (ascending).
struct Local {
  std::vector<Fixed> acc;
  std::vector<std::uint32_t> support;
};

Local local_sum(const Case& c, int rank, int ranks) {
  Local l{std::vector<Fixed>(c.n, 0), {}};
  std::vector<char> used(c.n, 0);
  for (int k = rank; k < c.clients; k += ranks) add_client(c, k, l.acc, used);
  for (std::size_t j = 0; j < c.n; ++j)
    if (used[j]) l.support.push_back(static_cast<std::uint32_t>(j));
  return l;
}

/// All clients summed on one process.
std::vector<Fixed> reference_sum(const Case& c) {
  std::vector<Fixed> acc(c.n, 0);
  std::vector<char> used(c.n, 0);
  for (int k = 0; k < c.clients; ++k) add_client(c, k, acc, used);
  return acc;
}

void expect_bits(const std::vector<Fixed>& got, const std::vector<Fixed>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t j = 0; j < got.size(); ++j) ASSERT_TRUE(got[j] == want[j]) << what << " element " << j;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // At np 4 rank 0 holds only empty clients; the others are sparse to medium.
      {1, 5003, 8, {0.0, 0.001, 0.05, 0.3}},
      // Full supports overlapping (np 2), one empty rank (np 4).
      {2, 1000, 3, {1.0}},
      // Overlapping random supports of the same density.
      {3, 2048, 6, {0.2}},
      // Nothing anywhere.
      {4, 777, 4, {0.0}},
      // One element; ranks with and without it.
      {5, 1, 5, {0.5}},
      // Empty model.
      {6, 0, 2, {1.0}},
  };
  return all;
}

}  // namespace

TEST(Aggregate, SparseEqualsDenseAndReference) {
  comm::Communicator world(MPI_COMM_WORLD);
  const int p = world.size();
  const auto n_ranks = static_cast<std::int64_t>(p);
  for (const Case& c : cases()) {
    SCOPED_TRACE("case " + std::to_string(c.id));
    const std::vector<Fixed> ref = reference_sum(c);
    const Local mine = local_sum(c, world.rank(), p);
    std::int64_t gathered = 0;
    for (int r = 0; r < p; ++r) gathered += static_cast<std::int64_t>(local_sum(c, r, p).support.size());
    const auto k = static_cast<std::int64_t>(mine.support.size());
    const auto n = static_cast<std::int64_t>(c.n);
    const std::int64_t header = comm::kSparseHeaderBytes, record = comm::kSparseRecordBytes;

    std::vector<Fixed> dense = mine.acc;
    const comm::AggregateStats sd = comm::sum_dense(world, dense);
    expect_bits(dense, ref, "sum_dense");
    EXPECT_EQ(sd.path, AggregatePath::kDense);
    EXPECT_EQ(sd.bytes_sent, 16 * n);
    EXPECT_EQ(sd.bytes_received, 16 * n);
    EXPECT_EQ(sd.gathered_nnz, 0);

    std::vector<Fixed> forced_dense = mine.acc;
    const comm::AggregateStats s0 = comm::sum_sparse(world, forced_dense, mine.support, 0.0);
    expect_bits(forced_dense, ref, "sum_sparse threshold 0");
    EXPECT_EQ(s0.path, AggregatePath::kDense);
    EXPECT_EQ(s0.gathered_nnz, gathered);
    EXPECT_EQ(s0.bytes_sent, header + 16 * n);
    EXPECT_EQ(s0.bytes_received, header * n_ranks + 16 * n);

    std::vector<Fixed> forced_sparse = mine.acc;
    const comm::AggregateStats si = comm::sum_sparse(world, forced_sparse, mine.support, kInf);
    expect_bits(forced_sparse, ref, "sum_sparse threshold inf");
    EXPECT_EQ(si.path, AggregatePath::kSparse);
    EXPECT_EQ(si.gathered_nnz, gathered);
    EXPECT_EQ(si.bytes_sent, header + record * k);
    EXPECT_EQ(si.bytes_received, header * n_ranks + record * gathered);

    std::vector<Fixed> chosen = mine.acc;
    const comm::AggregateStats sx =
        comm::sum_sparse(world, chosen, mine.support, comm::kDefaultDenseThreshold);
    expect_bits(chosen, ref, "sum_sparse default threshold");
    EXPECT_EQ(sx.path, comm::sparse_takes_dense(gathered, c.n, comm::kDefaultDenseThreshold)
                           ? AggregatePath::kDense
                           : AggregatePath::kSparse);
    EXPECT_EQ(sx.gathered_nnz, gathered);
  }
}

TEST(Aggregate, ThresholdBoundary) {
  EXPECT_TRUE(comm::sparse_takes_dense(0, 100, 0.0));  // 0 means always dense
  EXPECT_FALSE(comm::sparse_takes_dense(1000, 100, kInf));
  EXPECT_FALSE(comm::sparse_takes_dense(0, 0, kInf));
  EXPECT_FALSE(comm::sparse_takes_dense(50, 100, 0.5));  // not strictly above
  EXPECT_TRUE(comm::sparse_takes_dense(51, 100, 0.5));

  // Every rank keeps 16 of 1024 elements (the same ones: overlapping), so the
  // gathered density is exactly p/64.
  comm::Communicator world(MPI_COMM_WORLD);
  const int p = world.size();
  constexpr std::size_t kN = 1024;
  std::vector<std::uint32_t> support;
  for (std::uint32_t j = 3; j < kN; j += 64) support.push_back(j);
  ASSERT_EQ(support.size(), 16u);
  std::vector<Fixed> want(kN, 0);
  for (std::uint32_t j : support) want[j] = static_cast<Fixed>(p) * (static_cast<Fixed>(j) << 70);

  const double at = static_cast<double>(p) / 64.0;
  const double below = (16.0 * p - 1.0) / static_cast<double>(kN);
  for (const auto& [thr, path] : {std::pair{at, AggregatePath::kSparse},
                                  std::pair{below, AggregatePath::kDense}}) {
    std::vector<Fixed> acc(kN, 0);
    for (std::uint32_t j : support) acc[j] = static_cast<Fixed>(j) << 70;
    const comm::AggregateStats s = comm::sum_sparse(world, acc, support, thr);
    EXPECT_EQ(s.path, path) << "threshold " << thr;
    EXPECT_EQ(s.gathered_nnz, 16 * p);
    expect_bits(acc, want, comm::path_name(path));
  }
}

TEST(Aggregate, ScratchIsReused) {
  comm::Communicator world(MPI_COMM_WORLD);
  const Case& c = cases()[2];
  const std::vector<Fixed> ref = reference_sum(c);
  const Local mine = local_sum(c, world.rank(), world.size());
  comm::SparseScratch scratch;
  std::vector<Fixed> acc = mine.acc;
  comm::sum_sparse(world, acc, mine.support, kInf, scratch);
  expect_bits(acc, ref, "first call");
  const auto* records = scratch.records.data();
  const std::size_t capacity = scratch.records.capacity();
  acc = mine.acc;
  comm::sum_sparse(world, acc, mine.support, kInf, scratch);
  expect_bits(acc, ref, "second call");
  EXPECT_EQ(scratch.records.data(), records);
  EXPECT_EQ(scratch.records.capacity(), capacity);
}

TEST(Aggregate, InvalidArgumentsThrowOnEveryRank) {
  comm::Communicator world(MPI_COMM_WORLD);
  const int last = world.size() - 1;
  std::vector<Fixed> acc(10, 0);
  const std::vector<std::uint32_t> ok = {1, 4, 7};
  const std::vector<std::uint32_t> unsorted = {4, 1, 7}, repeated = {1, 1, 7}, outside = {1, 4, 10};
  for (const auto* bad : {&unsorted, &repeated, &outside}) {
    const auto& support = world.rank() == last ? *bad : ok;
    EXPECT_THROW(comm::sum_sparse(world, acc, support, kInf), InternalError);
  }
  EXPECT_THROW(comm::sum_sparse(world, acc, ok, std::nan("")), InternalError);
  EXPECT_THROW(comm::sum_sparse(world, acc, ok, -1.0), InternalError);
  if (world.size() > 1) {
    std::vector<Fixed> longer(11, 0);
    EXPECT_THROW(comm::sum_sparse(world, world.rank() == last ? longer : acc, ok, kInf),
                 InternalError);
    EXPECT_THROW(comm::sum_sparse(world, acc, ok, world.rank() == last ? 0.5 : 0.25),
                 InternalError);
  }
  EXPECT_THROW(comm::agree_max(world, world.rank() == last ? -1.0 : 1.0), InternalError);
  EXPECT_THROW(comm::agree_max(world, world.rank() == last ? kInf : 1.0), InternalError);
  // The communicator is still usable afterwards.
  EXPECT_EQ(comm::agree_max(world, 2.0), 2.0);
}

TEST(Aggregate, SumCodesExactWithNegatives) {
  comm::Communicator world(MPI_COMM_WORLD);
  constexpr int kClients = 8;
  constexpr std::size_t kN = 3001;
  auto code = [](int k, std::size_t j) -> std::int32_t {
    if (j == 0) return -268435455;  // the total, -2147483640, is near INT32_MIN
    Rng rng(13, Purpose::kBench, static_cast<std::uint64_t>(k), j);
    return static_cast<std::int32_t>(rng.below(2'000'001)) - 1'000'000;
  };
  std::vector<std::int32_t> want(kN, 0), codes(kN, 0);
  for (int k = 0; k < kClients; ++k)
    for (std::size_t j = 0; j < kN; ++j) want[j] += code(k, j);
  for (int k = world.rank(); k < kClients; k += world.size())
    for (std::size_t j = 0; j < kN; ++j) codes[j] += code(k, j);
  const comm::AggregateStats s = comm::sum_codes(world, codes);
  EXPECT_EQ(codes, want);
  EXPECT_EQ(want[0], -2147483640);
  EXPECT_EQ(s.path, AggregatePath::kQuantized);
  EXPECT_EQ(s.bytes_sent, 4 * static_cast<std::int64_t>(kN));
  EXPECT_EQ(s.bytes_received, 4 * static_cast<std::int64_t>(kN));
  EXPECT_EQ(s.gathered_nnz, 0);
}

TEST(Aggregate, AgreeMax) {
  comm::Communicator world(MPI_COMM_WORLD);
  const int p = world.size();
  // The largest value sits on rank 0 in one call and on the last rank in the other.
  EXPECT_EQ(comm::agree_max(world, 0.25 + 1.5 * world.rank()), 0.25 + 1.5 * (p - 1));
  comm::AggregateStats s;
  s.bytes_sent = s.bytes_received = 100;
  EXPECT_EQ(comm::agree_max(world, world.rank() == 0 ? 3.5 : 0.0, &s), 3.5);
  EXPECT_EQ(s.bytes_sent, 108);
  EXPECT_EQ(s.bytes_received, 108);
  EXPECT_EQ(comm::agree_max(world, 0.0), 0.0);
}

TEST(Aggregate, PathNames) {
  EXPECT_STREQ(comm::path_name(AggregatePath::kDense), "dense");
  EXPECT_STREQ(comm::path_name(AggregatePath::kSparse), "sparse");
  EXPECT_STREQ(comm::path_name(AggregatePath::kQuantized), "quantized");
}
