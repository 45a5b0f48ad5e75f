// FedProx Synthetic(alpha, beta): keyed determinism and scale.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/data/synthetic.hpp"

using namespace fedhpc;

namespace {

DataSection synthetic_cfg(int clients, int test_size = 500) {
  DataSection cfg;
  cfg.source = DataSource::kSynthetic;
  cfg.num_clients = clients;
  cfg.synthetic_test_size = test_size;
  return cfg;
}

struct Copy {
  std::vector<float> x;
  std::vector<std::int32_t> y;
  bool operator==(const Copy&) const = default;
};

Copy copy(const data::ExampleView& v) { return {{v.x, v.x + v.n * 60}, {v.y, v.y + v.n}}; }

}  // namespace

TEST(Synthetic, ShapeAndSizes) {
  data::SyntheticDataset ds(synthetic_cfg(200), 3);
  EXPECT_EQ(ds.input_shape().size(), 60);
  EXPECT_EQ(ds.input_shape().width, 60);
  EXPECT_EQ(ds.num_classes(), 10);
  EXPECT_EQ(ds.test_size(), 500);
  data::SyntheticDataset again(synthetic_cfg(200), 3);
  bool varied = false;
  for (int k = 0; k < 200; ++k) {
    const auto n = ds.num_samples(k);
    EXPECT_GE(n, 50);
    EXPECT_LE(n, data::kSyntheticMaxClientSize);
    EXPECT_EQ(n, again.num_samples(k));
    varied = varied || n != ds.num_samples(0);
  }
  EXPECT_TRUE(varied);
}

TEST(Synthetic, ClientExamplesIndependentOfRequestOrder) {
  data::SyntheticDataset a(synthetic_cfg(50), 8), b(synthetic_cfg(50), 8);
  const Copy a3 = copy(a.examples(3));
  const Copy a7 = copy(a.examples(7));
  const Copy b7 = copy(b.examples(7));
  const Copy b1 = copy(b.examples(1));
  const Copy b3 = copy(b.examples(3));
  EXPECT_EQ(a3, b3);
  EXPECT_EQ(a7, b7);
  EXPECT_FALSE(a3 == b1);
  EXPECT_EQ(static_cast<std::int64_t>(a3.y.size()), a.num_samples(3));
  EXPECT_EQ(copy(a.examples(3)), a3);  // regenerated after another client

  data::SyntheticDataset other_seed(synthetic_cfg(50), 9);
  EXPECT_FALSE(copy(other_seed.examples(3)) == a3);
}

TEST(Synthetic, LabelHistogramMatchesExamples) {
  data::SyntheticDataset ds(synthetic_cfg(20), 5);
  for (const int k : {0, 4, 19}) {
    std::vector<std::int64_t> h(10), from_examples(10, 0);
    ds.label_histogram(k, h);
    const auto v = ds.examples(k);
    for (std::int64_t i = 0; i < v.n; ++i) ++from_examples[static_cast<std::size_t>(v.y[i])];
    EXPECT_EQ(h, from_examples);
    EXPECT_EQ(std::accumulate(h.begin(), h.end(), std::int64_t{0}), ds.num_samples(k));
  }
}

TEST(Synthetic, TestRowsIndependentOfSplit) {
  const int n = 501;
  data::SyntheticDataset whole(synthetic_cfg(40, n), 2), lo(synthetic_cfg(40, n), 2),
      hi(synthetic_cfg(40, n), 2);
  whole.materialize({}, 0, n);
  const std::vector<int> some = {1, 5};
  lo.materialize(some, 0, 250);
  hi.materialize({}, 250, n);
  const auto w = whole.test_examples(), l = lo.test_examples(), h = hi.test_examples();
  ASSERT_EQ(w.n, n);
  ASSERT_EQ(l.n + h.n, n);
  Copy joined = copy(l);
  const Copy upper = copy(h);
  joined.x.insert(joined.x.end(), upper.x.begin(), upper.x.end());
  joined.y.insert(joined.y.end(), upper.y.begin(), upper.y.end());
  EXPECT_EQ(joined, copy(w));
  // Labels of the test set use every class (10 classes, 501 rows, 40 clients).
  std::vector<int> seen(10, 0);
  for (std::int64_t i = 0; i < w.n; ++i) seen[static_cast<std::size_t>(w.y[i])] = 1;
  EXPECT_GE(std::accumulate(seen.begin(), seen.end(), 0), 5);
}

TEST(Synthetic, MillionClientsWithoutPerClientState) {
  data::SyntheticDataset ds(synthetic_cfg(1000000, 100), 1);
  const std::vector<int> mine = {0, 999999};
  ds.materialize(mine, 0, 100);
  EXPECT_EQ(ds.test_examples().n, 100);
  const auto v = ds.examples(999999);
  EXPECT_EQ(v.n, ds.num_samples(999999));
  std::int64_t total = 0;
  for (int k = 0; k < 1000000; k += 1000) total += ds.num_samples(k);
  EXPECT_GT(total, 1000 * 50);
}

TEST(Synthetic, InvalidParametersNameTheKey) {
  auto cfg = synthetic_cfg(10);
  cfg.synthetic_alpha = -1.0;
  try {
    data::SyntheticDataset ds(cfg, 1);
    ADD_FAILURE() << "negative alpha accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "data.synthetic_alpha");
  }
  cfg = synthetic_cfg(0);
  EXPECT_THROW(data::SyntheticDataset(cfg, 1), ConfigError);
}

// The examples follow FedProx's law: x ~ N(v, diag(j^-1.2)) and
// y = argmax(W x + b), although they are drawn logits first (synthetic.hpp).
TEST(Synthetic, ExamplesFollowTheModel) {
  data::SyntheticDataset ds(synthetic_cfg(400), 11);
  int client = 0;
  while (ds.num_samples(client) < 2000) ++client;  // a large client, for the moments
  const auto m = ds.client_model(client);
  const auto v = ds.examples(client);
  const auto n = static_cast<double>(v.n);
  std::int64_t argmax_ok = 0, near_ties = 0;
  for (std::int64_t i = 0; i < v.n; ++i) {
    double z[10];
    for (int c = 0; c < 10; ++c) {
      z[c] = m.b[static_cast<std::size_t>(c)];
      for (int j = 0; j < 60; ++j) z[c] += m.w[static_cast<std::size_t>(c * 60 + j)] * v.x[i * 60 + j];
    }
    const int best = static_cast<int>(std::max_element(z, z + 10) - z);
    double second = -1e300;
    for (int c = 0; c < 10; ++c)
      if (c != best) second = std::max(second, z[c]);
    if (best == v.y[i]) ++argmax_ok;
    else if (z[best] - second < 1e-4) ++near_ties;  // x was rounded to float
  }
  EXPECT_EQ(argmax_ok + near_ties, v.n);
  EXPECT_LE(near_ties, v.n / 1000);
  for (int j = 0; j < 60; ++j) {
    double mean = 0.0, var = 0.0;
    for (std::int64_t i = 0; i < v.n; ++i) mean += v.x[i * 60 + j];
    mean /= n;
    for (std::int64_t i = 0; i < v.n; ++i) var += (v.x[i * 60 + j] - mean) * (v.x[i * 60 + j] - mean);
    var /= n - 1;
    const double sd = std::pow(j + 1.0, -0.6);
    EXPECT_NEAR(mean, m.v[static_cast<std::size_t>(j)], 5.0 * sd / std::sqrt(n)) << "feature " << j;
    EXPECT_NEAR(var / (sd * sd), 1.0, 5.0 * std::sqrt(2.0 / n)) << "feature " << j;
  }
}
