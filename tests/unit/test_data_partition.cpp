// Partitioners: exact cover, sizes, determinism, label skew, argument checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/data/partition.hpp"

using namespace fedhpc;
using data::Partition;

namespace {

/// n labels, `per_class` of each of `classes` classes, in random order.
std::vector<std::int32_t> balanced_labels(int classes, int per_class, std::uint64_t seed = 7) {
  std::vector<std::int32_t> y(static_cast<std::size_t>(classes * per_class));
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<std::int32_t>(i % classes);
  Rng rng(seed, Purpose::kBench);
  rng.shuffle(std::span(y));
  return y;
}

/// Every example in [0, n) appears exactly once; clients sorted ascending.
void expect_exact_cover(const Partition& p, std::int64_t n, int clients) {
  ASSERT_EQ(p.num_clients(), clients);
  ASSERT_EQ(p.offsets.front(), 0);
  ASSERT_EQ(p.offsets.back(), n);
  ASSERT_EQ(static_cast<std::int64_t>(p.indices.size()), n);
  std::vector<int> seen(static_cast<std::size_t>(n), 0);
  for (int k = 0; k < clients; ++k) {
    ASSERT_LE(p.offsets[static_cast<std::size_t>(k)], p.offsets[static_cast<std::size_t>(k) + 1]);
    const auto c = p.client(k);
    EXPECT_TRUE(std::is_sorted(c.begin(), c.end())) << "client " << k;
    for (const std::int32_t i : c) {
      ASSERT_GE(i, 0);
      ASSERT_LT(i, n);
      ++seen[static_cast<std::size_t>(i)];
    }
  }
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
}

std::int64_t client_size(const Partition& p, int k) {
  return p.offsets[static_cast<std::size_t>(k) + 1] - p.offsets[static_cast<std::size_t>(k)];
}

std::int64_t min_size(const Partition& p) {
  std::int64_t m = client_size(p, 0);
  for (int k = 1; k < p.num_clients(); ++k) m = std::min(m, client_size(p, k));
  return m;
}

bool same(const Partition& a, const Partition& b) {
  return a.offsets == b.offsets && a.indices == b.indices;
}

/// Counts (client, class) of p over labels.
std::vector<std::vector<int>> class_counts(const Partition& p, std::span<const std::int32_t> y,
                                           int classes) {
  std::vector<std::vector<int>> counts(static_cast<std::size_t>(p.num_clients()),
                                       std::vector<int>(static_cast<std::size_t>(classes), 0));
  for (int k = 0; k < p.num_clients(); ++k)
    for (const std::int32_t i : p.client(k))
      ++counts[static_cast<std::size_t>(k)]
              [static_cast<std::size_t>(y[static_cast<std::size_t>(i)])];
  return counts;
}

/// Mean over clients of the share of their most frequent label.
double mean_top_share(const Partition& p, std::span<const std::int32_t> y, int classes) {
  const auto counts = class_counts(p, y, classes);
  double sum = 0;
  for (int k = 0; k < p.num_clients(); ++k) {
    const auto& c = counts[static_cast<std::size_t>(k)];
    sum += static_cast<double>(*std::max_element(c.begin(), c.end())) /
           static_cast<double>(client_size(p, k));
  }
  return sum / p.num_clients();
}

template <class F>
std::string config_error_key(F&& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.key();
  }
  return "(no ConfigError)";
}

}  // namespace

TEST(PartitionIid, ExactCoverNearEqualDeterministic) {
  for (const auto& [n, k] : {std::pair<std::int64_t, int>{1000, 7}, {60000, 1000}, {5, 5}}) {
    const Partition p = data::partition_iid(n, k, 3);
    expect_exact_cover(p, n, k);
    std::int64_t lo = n, hi = 0;
    for (int c = 0; c < k; ++c) {
      lo = std::min(lo, client_size(p, c));
      hi = std::max(hi, client_size(p, c));
    }
    EXPECT_LE(hi - lo, 1);
    EXPECT_TRUE(same(p, data::partition_iid(n, k, 3)));
  }
  EXPECT_FALSE(same(data::partition_iid(1000, 7, 3), data::partition_iid(1000, 7, 4)));
}

TEST(PartitionDirichlet, ExactCoverMinSamplesDeterministic) {
  const auto y = balanced_labels(10, 600);
  for (const double alpha : {0.01, 0.1, 0.5, 5.0}) {
    const Partition p = data::partition_dirichlet(y, 10, 100, alpha, 20, 11);
    expect_exact_cover(p, 6000, 100);
    EXPECT_GE(min_size(p), 20) << "alpha " << alpha;
    EXPECT_TRUE(same(p, data::partition_dirichlet(y, 10, 100, alpha, 20, 11)));
    EXPECT_FALSE(same(p, data::partition_dirichlet(y, 10, 100, alpha, 20, 12)));
  }
}

TEST(PartitionDirichlet, MinSamplesCanUseEveryExample) {
  // num_clients * min_samples == n: every client ends with exactly min_samples.
  const auto y = balanced_labels(10, 100);
  const Partition p = data::partition_dirichlet(y, 10, 50, 0.1, 20, 5);
  expect_exact_cover(p, 1000, 50);
  for (int k = 0; k < 50; ++k) EXPECT_EQ(client_size(p, k), 20);
}

TEST(PartitionDirichlet, LargeAlphaIsBalancedSmallAlphaIsSkewed) {
  const auto y = balanced_labels(10, 1000);
  const Partition flat = data::partition_dirichlet(y, 10, 10, 1000.0, 1, 21);
  expect_exact_cover(flat, 10000, 10);
  for (const auto& per_client : class_counts(flat, y, 10))
    for (const int c : per_client) EXPECT_NEAR(c, 100, 20);
  EXPECT_LT(mean_top_share(flat, y, 10), 0.15);

  const Partition skewed = data::partition_dirichlet(y, 10, 10, 0.05, 1, 21);
  expect_exact_cover(skewed, 10000, 10);
  EXPECT_GT(mean_top_share(skewed, y, 10), 0.6);
}

TEST(PartitionDirichlet, TinyAlphaDoesNotUnderflow) {
  // Gamma(1e-3) draws underflow in linear space; shares must still be valid.
  const auto y = balanced_labels(4, 250);
  const Partition p = data::partition_dirichlet(y, 4, 20, 1e-3, 5, 2);
  expect_exact_cover(p, 1000, 20);
  EXPECT_GE(min_size(p), 5);
}

TEST(PartitionShards, AtMostClassesPerClientLabels) {
  const auto y = balanced_labels(10, 600);
  for (const int per : {1, 2, 3}) {
    const Partition p = data::partition_shards(y, 100, per, 9);  // shard size divides 600
    expect_exact_cover(p, 6000, 100);
    for (const auto& c : class_counts(p, y, 10))
      EXPECT_LE(std::count_if(c.begin(), c.end(), [](int v) { return v > 0; }), per);
    for (int k = 0; k < 100; ++k) EXPECT_EQ(client_size(p, k), 6000 / 100);
    EXPECT_TRUE(same(p, data::partition_shards(y, 100, per, 9)));
    EXPECT_FALSE(same(p, data::partition_shards(y, 100, per, 10)));
  }
}

TEST(PartitionShards, UnevenSizesStillCoverEverything) {
  const auto y = balanced_labels(7, 143);  // 1001 examples, 3 * 11 shards
  const Partition p = data::partition_shards(y, 11, 3, 1);
  expect_exact_cover(p, 1001, 11);
}

TEST(PartitionQuantity, ExactCoverMinSamplesSkew) {
  const Partition p = data::partition_quantity(6000, 100, 2.0, 10, 4);
  expect_exact_cover(p, 6000, 100);
  EXPECT_GE(min_size(p), 10);
  std::int64_t largest = 0;
  for (int k = 0; k < 100; ++k) largest = std::max(largest, client_size(p, k));
  EXPECT_GT(largest, 4 * 60);  // sigma = 2 gives a heavy tail
  EXPECT_TRUE(same(p, data::partition_quantity(6000, 100, 2.0, 10, 4)));
  EXPECT_FALSE(same(p, data::partition_quantity(6000, 100, 2.0, 10, 5)));

  const Partition even = data::partition_quantity(1003, 10, 0.0, 1, 4);
  expect_exact_cover(even, 1003, 10);
  for (int k = 0; k < 10; ++k) EXPECT_EQ(client_size(even, k), k < 3 ? 101 : 100);
}

TEST(PartitionQuantity, ExtremeSigmaKeepsMinSamples) {
  const Partition p = data::partition_quantity(500, 50, 10.0, 10, 8);
  expect_exact_cover(p, 500, 50);
  for (int k = 0; k < 50; ++k) EXPECT_EQ(client_size(p, k), 10);
}

TEST(Partition, InvalidArgumentsNameTheKey) {
  const auto y = balanced_labels(10, 10);
  EXPECT_EQ(config_error_key([&] { data::partition_iid(100, 0, 1); }), "data.num_clients");
  EXPECT_EQ(config_error_key([&] { data::partition_iid(100, 101, 1); }), "data.num_clients");
  EXPECT_EQ(config_error_key([&] { data::partition_dirichlet(y, 10, 10, 0.0, 1, 1); }),
            "data.alpha");
  EXPECT_EQ(config_error_key([&] { data::partition_dirichlet(y, 10, 10, 0.5, 11, 1); }),
            "data.min_samples");
  EXPECT_EQ(config_error_key([&] { data::partition_shards(y, 10, 11, 1); }),
            "data.classes_per_client");
  EXPECT_EQ(config_error_key([&] { data::partition_quantity(100, 10, -1.0, 1, 1); }),
            "data.quantity_sigma");
  EXPECT_EQ(config_error_key([&] { data::partition_quantity(100, 10, 1.0, 11, 1); }),
            "data.min_samples");
}

TEST(Partition, MakePartitionDispatchesAndChecksMinSamples) {
  const auto y = balanced_labels(10, 100);
  DataSection cfg;
  cfg.num_clients = 10;
  cfg.min_samples = 5;
  cfg.partition = PartitionKind::kIid;
  EXPECT_TRUE(same(data::make_partition(cfg, y, 10, 3), data::partition_iid(1000, 10, 3)));
  cfg.partition = PartitionKind::kDirichlet;
  EXPECT_TRUE(same(data::make_partition(cfg, y, 10, 3),
                   data::partition_dirichlet(y, 10, 10, cfg.alpha, 5, 3)));
  cfg.partition = PartitionKind::kShards;
  EXPECT_TRUE(same(data::make_partition(cfg, y, 10, 3), data::partition_shards(y, 10, 2, 3)));
  cfg.partition = PartitionKind::kQuantity;
  EXPECT_TRUE(same(data::make_partition(cfg, y, 10, 3),
                   data::partition_quantity(1000, 10, cfg.quantity_sigma, 5, 3)));

  cfg.min_samples = 101;
  for (const auto kind : {PartitionKind::kIid, PartitionKind::kShards}) {
    cfg.partition = kind;
    EXPECT_EQ(config_error_key([&] { data::make_partition(cfg, y, 10, 3); }), "data.min_samples");
  }
}
