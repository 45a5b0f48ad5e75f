// UniformStream: the bulk uniforms of stochastic rounding against a scalar
// reference on RngLanes' draws, independence of how requests are split, and
// the distribution of the values.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fedhpc/core/rng.hpp"
#include "fedhpc/core/uniform_stream.hpp"

using namespace fedhpc;

namespace {

/// Reference: the header's formula on RngLanes::fill output, tick by tick.
std::vector<float> reference_uniforms(Rng parent, std::size_t n) {
  RngLanes lanes(parent);
  const std::size_t ticks = (n + UniformStream::kChunk - 1) / UniformStream::kChunk;
  std::vector<std::uint64_t> r(ticks * RngLanes::kLanes);
  lanes.fill(r.data(), r.size());
  std::vector<float> u;
  for (std::size_t t = 0; t < ticks; ++t) {
    for (std::size_t l = 0; l < RngLanes::kLanes; ++l)
      u.push_back(static_cast<float>(r[t * RngLanes::kLanes + l] >> 40) * 0x1.0p-24f);
    for (std::size_t l = 0; l < RngLanes::kLanes; ++l)
      u.push_back(static_cast<float>((r[t * RngLanes::kLanes + l] >> 8) & 0xFFFFFFu) * 0x1.0p-24f);
  }
  u.resize(n);
  return u;
}

}  // namespace

TEST(UniformStream, MatchesTheReferenceHoweverRequestsAreSplit) {
  const Rng key(3, Purpose::kBench, 1, 2);
  const std::size_t pieces[] = {1, 3, 16, 15, 17, 1, 1024, 5, 31, 33, 0, 250};
  std::size_t n = 0;
  for (const auto p : pieces) n += p;
  const auto want = reference_uniforms(key, n);
  Rng parent = key;
  UniformStream s(parent);
  std::vector<float> got(n);
  std::size_t at = 0;
  for (const auto p : pieces) {
    s.fill(got.data() + at, p);
    at += p;
    EXPECT_EQ(s.drawn(), at);
  }
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_EQ(std::bit_cast<std::uint32_t>(got[i]), std::bit_cast<std::uint32_t>(want[i])) << "i = " << i;
  // One at a time gives the same sequence.
  Rng parent2 = key;
  UniformStream one(parent2);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(one.next(), want[i]) << "i = " << i;
  // Seeding takes 4 draws per lane from the parent, nothing more.
  Rng probe = key;
  for (std::size_t k = 0; k < 4 * RngLanes::kLanes; ++k) probe.next();
  EXPECT_EQ(parent.next(), probe.next());
}

TEST(UniformStream, ValuesAreUniform24BitFractionsWithoutCorrelation) {
  Rng parent(4, Purpose::kBench);
  UniformStream s(parent);
  const std::size_t n = 1 << 20;
  std::vector<float> u(n);
  s.fill(u.data(), n);
  constexpr int kBins = 64;
  std::vector<double> count(kBins, 0.0);
  double mean = 0.0, lag1 = 0.0, halves = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_GE(u[i], 0.0f);
    ASSERT_LT(u[i], 1.0f);
    ASSERT_EQ(u[i] * 0x1.0p24f, std::floor(u[i] * 0x1.0p24f));  // a multiple of 2^-24: 1 - u is exact
    count[static_cast<std::size_t>(u[i] * kBins)] += 1.0;
    mean += u[i];
    if (i + 1 < n) lag1 += (u[i] - 0.5) * (u[i + 1] - 0.5);
    // The two fields of one 64-bit draw: element l and 8 + l of a tick.
    if (i % UniformStream::kChunk < RngLanes::kLanes) halves += (u[i] - 0.5) * (u[i + RngLanes::kLanes] - 0.5);
  }
  mean /= static_cast<double>(n);
  EXPECT_NEAR(mean, 0.5, 5.0 * std::sqrt(1.0 / 12.0 / static_cast<double>(n)));
  // Correlations: var(u) = 1/12, standard error of a mean product 1/12/sqrt(pairs).
  EXPECT_NEAR(12.0 * lag1 / static_cast<double>(n - 1), 0.0, 5.0 / std::sqrt(static_cast<double>(n - 1)));
  EXPECT_NEAR(12.0 * halves / static_cast<double>(n / 2), 0.0, 5.0 / std::sqrt(static_cast<double>(n / 2)));
  // Chi-square over 64 bins, 63 degrees of freedom: 99.99 % quantile about 117.
  const double expect = static_cast<double>(n) / kBins;
  double chi2 = 0.0;
  for (const double c : count) chi2 += (c - expect) * (c - expect) / expect;
  EXPECT_LT(chi2, 117.0);
}
