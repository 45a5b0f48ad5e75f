// Each round aggregator strategy (comm/round_aggregator.hpp) at any rank
// count: clients dealt round-robin to ranks and added in reverse order give
// the bits of the same strategy run on one process over all clients.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "fedhpc/comm/round_aggregator.hpp"
#include "fedhpc/core/rng.hpp"

using namespace fedhpc;
using comm::AggregatePath;

namespace {

constexpr std::size_t kN = 1500;
constexpr int kClients = 13;
constexpr double kInf = std::numeric_limits<double>::infinity();

/// Client k's contribution: sparse-ish keyed values (magnitudes spread over
/// 2^-20..2^20, so float order matters), and a "before" model for the
/// after - before form.
struct Client {
  std::vector<float> after, before;
  std::int64_t weight;
};

Client make_client(int k, double density) {
  Client c;
  c.after.assign(kN, 0.0f);
  c.before.assign(kN, 0.0f);
  c.weight = 1 + 7 * k;
  Rng rng(21, Purpose::kBench, static_cast<std::uint64_t>(k));
  for (std::size_t j = 0; j < kN; ++j) {
    c.before[j] = static_cast<float>(rng.normal());
    const bool kept = rng.uniform() < density;
    const float x = kept ? static_cast<float>(rng.normal() * std::ldexp(1.0, static_cast<int>(rng.below(40)) - 20)) : 0.0f;
    c.after[j] = x;
  }
  return c;
}

struct Outcome {
  std::vector<double> mean;
  comm::ReduceResult result;
  std::vector<comm::Fixed> tail;
};

/// Runs one round: this process adds the clients `mine` (in the given order),
/// each rank adds rank + 1 to tail slot 0 and its client count to slot 1.
Outcome run(const comm::Communicator& c, AggregatePath path, double threshold, bool with_minus,
            const std::vector<int>& mine, double density) {
  auto agg = comm::make_round_aggregator(path, kN, 2, 9, threshold);
  EXPECT_EQ(agg->path(), path);
  Outcome o;
  o.mean.assign(kN, std::numeric_limits<double>::quiet_NaN());
  for (int round = 0; round < 2; ++round) {  // a second round must start clean
    agg->begin_round(3);
    for (const int k : mine) {
      const Client cl = make_client(k, density);
      agg->add(k, cl.weight, with_minus ? comm::Contribution{cl.after, cl.before}
                                        : comm::Contribution{cl.after, {}});
    }
    agg->tail()[0] += c.rank() + 1;
    agg->tail()[1] += static_cast<comm::Fixed>(mine.size());
    o.result = agg->reduce(c, kClients, o.mean);
  }
  o.tail.assign(agg->tail().begin(), agg->tail().end());
  return o;
}

std::vector<int> dealt(const comm::Communicator& c, bool reversed) {
  std::vector<int> mine;
  for (int k = 0; k < kClients; ++k)
    if (k % c.size() == c.rank()) mine.push_back(k);
  if (reversed) std::reverse(mine.begin(), mine.end());
  return mine;
}

std::vector<int> everyone() {
  std::vector<int> all;
  for (int k = 0; k < kClients; ++k) all.push_back(k);
  return all;
}

void expect_bitwise(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(double))) << what;
}

std::int64_t total_weight() {
  std::int64_t w = 0;
  for (int k = 0; k < kClients; ++k) w += 1 + 7 * k;
  return w;
}

}  // namespace

TEST(RoundAggregator, EveryPathIsRankCountAndOrderIndependent) {
  comm::Communicator world(MPI_COMM_WORLD);
  comm::Communicator self(MPI_COMM_SELF);
  for (const AggregatePath path : {AggregatePath::kDense, AggregatePath::kSparse, AggregatePath::kQuantized}) {
    for (const bool minus : {false, true}) {
      const Outcome got = run(world, path, kInf, minus, dealt(world, true), 0.3);
      const Outcome ref = run(self, path, kInf, minus, everyone(), 0.3);
      expect_bitwise(got.mean, ref.mean, comm::path_name(path));
      EXPECT_EQ(got.result.weight, total_weight());
      EXPECT_EQ(static_cast<std::int64_t>(got.tail[0]), world.size() * (world.size() + 1) / 2);
      EXPECT_EQ(static_cast<std::int64_t>(got.tail[1]), kClients);
      EXPECT_GT(got.result.stats.bytes_sent, 0);
    }
  }
}

TEST(RoundAggregator, SparseGivesTheDenseBitsOnBothBranches) {
  comm::Communicator world(MPI_COMM_WORLD);
  for (const bool minus : {false, true}) {
    const Outcome dense = run(world, AggregatePath::kDense, kInf, minus, dealt(world, false), 0.02);
    const Outcome sparse = run(world, AggregatePath::kSparse, kInf, minus, dealt(world, false), 0.02);
    const Outcome fallback = run(world, AggregatePath::kSparse, 0.0, minus, dealt(world, false), 0.02);
    expect_bitwise(sparse.mean, dense.mean, "sparse");
    expect_bitwise(fallback.mean, dense.mean, "sparse -> dense");
    // With minus, "before" is dense, so the support is everything.
    EXPECT_EQ(sparse.result.stats.path, AggregatePath::kSparse);
    EXPECT_EQ(fallback.result.stats.path, AggregatePath::kDense);
    EXPECT_GT(sparse.result.stats.gathered_nnz, 0);
  }
}

TEST(RoundAggregator, DenseMeanIsTheExactWeightedMean) {
  comm::Communicator world(MPI_COMM_WORLD);
  const Outcome got = run(world, AggregatePath::kDense, kInf, true, dealt(world, false), 0.5);
  // Reference: exact fixed-point sums of the double differences, by hand.
  std::vector<comm::Fixed> sum(kN, 0);
  for (int k = 0; k < kClients; ++k) {
    const Client c = make_client(k, 0.5);
    for (std::size_t j = 0; j < kN; ++j)
      sum[j] += c.weight * comm::to_fixed(static_cast<double>(c.after[j]) - c.before[j]);
  }
  for (std::size_t j = 0; j < kN; ++j)
    ASSERT_EQ(got.mean[j], comm::from_fixed(sum[j]) * (1.0 / static_cast<double>(total_weight()))) << j;
}

TEST(RoundAggregator, QuantizedIsWithinOneGridStepPerClientOfDense) {
  comm::Communicator world(MPI_COMM_WORLD);
  const Outcome dense = run(world, AggregatePath::kDense, kInf, false, dealt(world, false), 0.3);
  const Outcome quant = run(world, AggregatePath::kQuantized, kInf, false, dealt(world, false), 0.3);
  double gmax = 0.0;
  for (int k = 0; k < kClients; ++k) {
    const Client c = make_client(k, 0.3);
    for (const float x : c.after) gmax = std::max(gmax, std::fabs(static_cast<double>(c.weight) * x));
  }
  const double scale = gmax / static_cast<double>(std::numeric_limits<std::int32_t>::max() / kClients);
  const double bound = kClients * scale / static_cast<double>(total_weight());
  double worst = 0.0;
  for (std::size_t j = 0; j < kN; ++j) worst = std::max(worst, std::fabs(quant.mean[j] - dense.mean[j]));
  EXPECT_LE(worst, bound);
  EXPECT_GT(worst, 0.0) << "the grid rounds";
  EXPECT_EQ(quant.result.stats.path, AggregatePath::kQuantized);
}

TEST(RoundAggregator, NoClientsLeavesTheMeanAlone) {
  comm::Communicator world(MPI_COMM_WORLD);
  for (const AggregatePath path : {AggregatePath::kDense, AggregatePath::kSparse, AggregatePath::kQuantized}) {
    const Outcome o = run(world, path, kInf, false, {}, 0.3);
    EXPECT_EQ(o.result.weight, 0);
    EXPECT_TRUE(std::isnan(o.mean[0])) << comm::path_name(path);
    EXPECT_EQ(static_cast<std::int64_t>(o.tail[0]), world.size() * (world.size() + 1) / 2);
  }
}
