// The exact fixed-point reduction gives the same bits for any rank count.
#include <gtest/gtest.h>

#include <vector>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/comm/exact_sum.hpp"
#include "fedhpc/core/rng.hpp"

using namespace fedhpc;

namespace {
// Values whose float sum depends on order: large and tiny magnitudes mixed.
double term(int k, int j) {
  Rng rng(7, Purpose::kBench, static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(j));
  return rng.normal() * std::ldexp(1.0, static_cast<int>(rng.below(40)) - 20);
}
}  // namespace

TEST(ExactSum, IndependentOfRankCountAndOrder) {
  comm::Communicator world(MPI_COMM_WORLD);
  constexpr int kTerms = 64, kLen = 1000;
  // Reference: all terms summed on one process in one order, and in reverse.
  std::vector<comm::Fixed> ref(kLen, 0), rev(kLen, 0);
  for (int k = 0; k < kTerms; ++k)
    for (int j = 0; j < kLen; ++j) ref[j] += comm::to_fixed(term(k, j));
  for (int k = kTerms - 1; k >= 0; --k)
    for (int j = 0; j < kLen; ++j) rev[j] += comm::to_fixed(term(k, j));
  // Distributed: terms dealt round-robin to ranks, then reduced.
  std::vector<comm::Fixed> acc(kLen, 0);
  for (int k = world.rank(); k < kTerms; k += world.size())
    for (int j = 0; j < kLen; ++j) acc[j] += comm::to_fixed(term(k, j));
  comm::allreduce_exact(world, acc);
  for (int j = 0; j < kLen; ++j) {
    ASSERT_TRUE(acc[j] == ref[j]) << "element " << j;
    ASSERT_TRUE(rev[j] == ref[j]) << "element " << j;
  }
}

TEST(ExactSum, RoundTripPrecision) {
  for (double v : {0.0, 1.0, -1.0, 3.14159, -2.5e-9, 1e12, -7e15}) {
    const double back = comm::from_fixed(comm::to_fixed(v));
    EXPECT_NEAR(back, v, std::ldexp(1.0, -comm::kFracBits)) << v;
  }
  EXPECT_FALSE(comm::fits_fixed(std::nan("")));
  EXPECT_FALSE(comm::fits_fixed(1e30));
}

TEST(ExactSum, NegativeCarriesAcrossWords) {
  comm::Communicator world(MPI_COMM_WORLD);
  // Each rank adds -1 ulp and +2^70: the 128-bit carry must propagate exactly.
  std::vector<comm::Fixed> v = {-1, static_cast<comm::Fixed>(1) << 70};
  comm::allreduce_exact(world, v);
  EXPECT_TRUE(v[0] == -static_cast<comm::Fixed>(world.size()));
  EXPECT_TRUE(v[1] == static_cast<comm::Fixed>(world.size()) << 70);
}

TEST(Collectives, ChunkedAllreduceSum) {
  comm::Communicator world(MPI_COMM_WORLD);
  std::vector<std::int64_t> v(1000, world.rank() + 1);
  comm::allreduce(world, std::span(v), MPI_SUM);
  const std::int64_t expect = static_cast<std::int64_t>(world.size()) * (world.size() + 1) / 2;
  for (auto x : v) ASSERT_EQ(x, expect);
  EXPECT_EQ(comm::allreduce_max(world, world.rank()), world.size() - 1);
}

TEST(Collectives, ExchangeBytesDeliversEachPairsMessage) {
  comm::Communicator world(MPI_COMM_WORLD);
  const int p = world.size(), me = world.rank();
  // Rank s sends rank d (s + 2d) % 5 bytes of value 16 s + d; some pairs send nothing.
  std::vector<std::vector<std::byte>> to(static_cast<std::size_t>(p));
  for (int d = 0; d < p; ++d)
    to[static_cast<std::size_t>(d)].assign(static_cast<std::size_t>((me + 2 * d) % 5),
                                           static_cast<std::byte>(16 * me + d));
  const comm::Received in = comm::exchange_bytes(world, to);
  ASSERT_EQ(in.offset.size(), static_cast<std::size_t>(p) + 1);
  for (int s = 0; s < p; ++s) {
    const auto got = in.from(s);
    ASSERT_EQ(got.size(), static_cast<std::size_t>((s + 2 * me) % 5)) << "from " << s;
    for (const std::byte b : got) EXPECT_EQ(b, static_cast<std::byte>(16 * s + me));
  }
}
