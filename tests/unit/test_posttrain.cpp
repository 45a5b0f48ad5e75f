// Post-training compression (posttrain/): bin edges and midpoints on a known
// vector, the split rule of BinQuantPhase against a synthetic oracle, k-means
// (objective never increases, nearest assignment equals brute force, the
// optimum of a small separable case), storage formulas, decoding, and GWK's
// clustering through GwkPhase.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "fedhpc/core/rng.hpp"
#include "fedhpc/posttrain/binquant.hpp"
#include "fedhpc/posttrain/bins.hpp"
#include "fedhpc/posttrain/codebook.hpp"
#include "fedhpc/posttrain/gwk.hpp"
#include "fedhpc/posttrain/kmeans.hpp"

using namespace fedhpc;
using namespace fedhpc::posttrain;

namespace {

TEST(Bins, InitialEdgesAndMidpointsOfAKnownVector) {
  const std::vector<float> w = {0, 1, 2, 3, 4, 5, 6, 7, 8};  // mu 4, sigma sqrt(60/9)
  const Bins b = Bins::initial(w);
  const double sigma = std::sqrt(60.0 / 9.0);
  ASSERT_EQ(b.count(), 4);
  EXPECT_DOUBLE_EQ(b.edges()[0], 0.0);
  EXPECT_DOUBLE_EQ(b.edges()[1], 4.0 - sigma);
  EXPECT_DOUBLE_EQ(b.edges()[2], 4.0);
  EXPECT_DOUBLE_EQ(b.edges()[3], 4.0 + sigma);
  EXPECT_DOUBLE_EQ(b.edges()[4], 8.0);
  EXPECT_FLOAT_EQ(b.midpoint(0), static_cast<float>((4.0 - sigma) / 2));
  EXPECT_FLOAT_EQ(b.midpoint(3), static_cast<float>((12.0 + sigma) / 2));
  // Inner edges belong to the upper bin, the maximum to the last one.
  EXPECT_EQ(b.bin_of(0.0f), 0);
  EXPECT_EQ(b.bin_of(4.0f), 2);
  EXPECT_EQ(b.bin_of(8.0f), 3);
  std::vector<float> q(w.size());
  quantize(b, w, q, 2, 1.2f);
  EXPECT_FLOAT_EQ(q[0], b.midpoint(0));
  EXPECT_FLOAT_EQ(q[4], 1.2f * b.midpoint(2));  // the probed bin is scaled
  EXPECT_FLOAT_EQ(q[8], b.midpoint(3));
}

TEST(Bins, SplitHalvesABinAndSkewedLayersClampTheirEdges) {
  Bins b(std::vector<double>{0.0, 1.0, 3.0});
  b.split(1);
  ASSERT_EQ(b.count(), 3);
  EXPECT_DOUBLE_EQ(b.edges()[2], 2.0);
  // mu - sigma below the minimum: clamped and merged with it.
  const std::vector<float> skew = {0, 0, 0, 0, 0, 0, 0, 0, 0, 10};
  const Bins s = Bins::initial(skew);
  EXPECT_EQ(s.edges().front(), 0.0);
  EXPECT_EQ(s.count(), 3);
  const std::vector<float> constant = {2, 2, 2};
  EXPECT_EQ(Bins::initial(constant).count(), 1);
  const auto eligible = splittable(Bins::initial(skew), skew);
  EXPECT_EQ(std::count(eligible.begin(), eligible.end(), true), 0);  // single values only
}

/// A validation oracle over a one-layer model: accuracy falls with the
/// distance of the weights in [lo, hi] from their original values (only
/// those matter), loss rises with the distance of all weights.
class Oracle final : public fl::Validation {
 public:
  Oracle(std::vector<float> w0, float lo, float hi, double scale = 0.01)
      : w0_(std::move(w0)), lo_(lo), hi_(hi), scale_(scale) {}
  fl::ValidationScore evaluate(std::span<const float> m) override {
    ++calls_;
    double hurt = 0.0, all = 0.0;
    for (std::size_t j = 0; j < m.size(); ++j) {
      const double d = std::fabs(m[j] - w0_[j]);
      all += d;
      if (w0_[j] >= lo_ && w0_[j] <= hi_) hurt += d;
    }
    return {1.0 - scale_ * hurt, all};
  }
  void gradient(std::span<const float>, std::span<double> out) override {
    for (std::size_t j = 0; j < out.size(); ++j) out[j] = w0_[j] >= lo_ && w0_[j] <= hi_ ? 1.0 : 0.0;
  }
  std::int64_t evaluations() const override { return calls_; }

 private:
  std::vector<float> w0_;
  float lo_, hi_;
  double scale_;
  std::int64_t calls_ = 0;
};

model::ParamLayout one_layer(int n) {
  model::ParamLayout l;
  l.add("fc.weight", {n, 1}, model::VarKind::kDenseWeight);
  return l;
}

std::vector<float> normal_weights(int n, std::uint64_t key) {
  Rng rng(5, Purpose::kBench, key);
  std::vector<float> w(static_cast<std::size_t>(n));
  for (auto& v : w) v = static_cast<float>(rng.normal());
  return w;
}

TEST(BinQuant, SplitsTheBinWhoseProbeHurtsMost) {
  const int n = 4000;
  const std::vector<float> w = normal_weights(n, 1);
  const Bins initial = Bins::initial(w);
  for (int target = 0; target < initial.count(); ++target) {
    for (const bool gradient : {false, true}) {
      // Only the weights of bin `target` matter to the oracle.
      Oracle oracle(w, static_cast<float>(initial.edges()[static_cast<std::size_t>(target)]) + 1e-3f,
                    static_cast<float>(initial.edges()[static_cast<std::size_t>(target) + 1]) - 1e-3f);
      const model::ParamLayout layout = one_layer(n);
      PosttrainSection cfg;
      cfg.max_drop = 0.0;  // nothing is accepted: the search runs to max_bins
      cfg.max_bins = 6;
      BinQuantPhase phase(cfg, layout, gradient);
      std::vector<float> model = w;
      phase.compress(oracle, model);
      const fl::CompressionReport r = phase.finish(oracle, model);
      ASSERT_GE(r.trace.size(), 2u);
      EXPECT_EQ(r.trace[0].split, -1);
      EXPECT_EQ(r.trace[0].bins, 4);
      EXPECT_EQ(r.trace[1].split, target) << (gradient ? "gradient" : "probe");
      EXPECT_EQ(r.trace.back().bins, 6);
      // Nothing within max_drop 0 of the reference: the layer stays fp32.
      EXPECT_TRUE(r.coded.empty());
      EXPECT_EQ(model, w);
      // Probes: 4 initial + 2 per split, plus one score per configuration and the reference.
      // and a last score of the layer left fp32.
      if (!gradient) {
        EXPECT_EQ(oracle.evaluations(), 1 + 3 + 4 + 2 * 2 + 1);
      }
    }
  }
}

TEST(BinQuant, KeepsTheSmallestAcceptedWidthAndDecodesIntoTheModel) {
  const int n = 3000;
  const std::vector<float> w = normal_weights(n, 2);
  Oracle oracle(w, -10.0f, 10.0f);  // every weight matters a little
  const model::ParamLayout layout = one_layer(n);
  PosttrainSection cfg;
  cfg.max_drop = 100.0 * 0.01 * 0.25 * n;  // accepts a mean error of 0.25 per weight
  BinQuantPhase phase(cfg, layout, false);
  std::vector<float> model = w;
  phase.compress(oracle, model);
  const fl::CompressionReport r = phase.finish(oracle, model);
  ASSERT_EQ(r.coded.size(), 1u);
  const fl::CodedVariable& c = r.coded[0];
  EXPECT_EQ(c.bits, bits_for(c.codebook.size()));
  // The search stopped at the first power of two at or above its first acceptance.
  int first = 0;  // bins of the first accepted configuration
  for (const auto& s : r.trace)
    if (1.0 - s.accuracy <= 0.01 * 0.25 * n + 1e-12) {
      first = s.bins;
      break;
    }
  ASSERT_GT(first, 0);
  EXPECT_EQ(r.trace.back().bins, 1 << bits_for(static_cast<std::size_t>(first)));
  std::vector<float> decoded(w.size());
  decode(layout, c, decoded);
  EXPECT_EQ(decoded, model);  // the model holds exactly the decoded codes
  std::set<float> distinct(model.begin(), model.end());
  EXPECT_LE(distinct.size(), c.codebook.size());
}

TEST(BinQuant, TheWholeModelStaysWithinMaxDropAndTheBudgetCarries) {
  model::ParamLayout l;
  l.add("big.weight", {400, 10}, model::VarKind::kDenseWeight);
  l.add("big.bias", {400}, model::VarKind::kBias);
  l.add("small.weight", {50, 10}, model::VarKind::kDenseWeight);
  const std::vector<float> w = normal_weights(static_cast<int>(l.size()), 3);
  for (const double max_drop : {0.2, 2.0, 20.0}) {
    Oracle oracle(w, -100.0f, 100.0f, 1e-5);  // accuracy 1 - 1e-5 * sum |error|
    PosttrainSection cfg;
    cfg.max_drop = max_drop;
    BinQuantPhase phase(cfg, l, false);
    std::vector<float> model = w;
    phase.compress(oracle, model);
    const fl::CompressionReport r = phase.finish(oracle, model);
    const double after = oracle.evaluate(model).accuracy;
    EXPECT_GE(after, 1.0 - cfg.max_drop / 100.0 - 1e-9) << max_drop;
    // The big layer goes first: the small one is scored only after it.
    EXPECT_EQ(r.trace.front().var, 0);
    EXPECT_EQ(r.trace.back().var, 2);
    // Biases are never binned.
    for (const auto& c : r.coded) EXPECT_NE(c.var, 1u);
    if (max_drop >= 20.0) {
      EXPECT_EQ(r.coded.size(), 2u);  // a wide budget bins both layers
    }
  }
}

std::vector<float> points(int n, int d, std::uint64_t key) {
  Rng rng(9, Purpose::kBench, key);
  std::vector<float> x(static_cast<std::size_t>(n * d));
  for (auto& v : x) v = static_cast<float>(rng.normal());
  return x;
}

TEST(KMeans, ObjectiveNeverIncreasesAndAssignmentIsTheNearest) {
  const int n = 500, d = 4, k = 16;
  const std::vector<float> x = points(n, d, 3);
  std::vector<double> a(n);
  Rng wr(2, Purpose::kBench);
  for (auto& v : a) v = wr.uniform();
  const Points p{x, a, d};
  Rng rng(1, Purpose::kPosttrain);
  std::vector<float> c = kmeans_pp(p, k, rng);
  ASSERT_EQ(c.size(), static_cast<std::size_t>(k * d));
  std::vector<std::uint32_t> as(n);
  double prev = assign_nearest(p, c, as);
  for (int it = 0; it < 20; ++it) {
    update_centroids(p, as, c);
    const double after_update = objective(p, c, as);
    EXPECT_LE(after_update, prev * (1 + 1e-12));
    const double after_assign = assign_nearest(p, c, as);
    EXPECT_LE(after_assign, after_update * (1 + 1e-12));
    prev = after_assign;
  }
  // Brute force nearest centroid.
  for (int j = 0; j < n; ++j) {
    double best = std::numeric_limits<double>::infinity();
    int arg = -1;
    for (int q = 0; q < k; ++q) {
      double s = 0;
      for (int i = 0; i < d; ++i) {
        const double t = x[static_cast<std::size_t>(j * d + i)] - c[static_cast<std::size_t>(q * d + i)];
        s += t * t;
      }
      if (s < best) best = s, arg = q;
    }
    EXPECT_EQ(as[static_cast<std::size_t>(j)], static_cast<std::uint32_t>(arg));
  }
}

TEST(KMeans, ReachesTheBruteForceOptimumOfASmallCase) {
  // 8 weighted 1-D points, 2 clusters: enumerate all 2^8 assignments.
  const std::vector<float> x = {-3.0f, -2.5f, -2.0f, -1.8f, 1.0f, 1.5f, 2.5f, 4.0f};
  const std::vector<double> a = {1, 2, 1, 3, 1, 1, 2, 1};
  const Points p{x, a, 1};
  double best = std::numeric_limits<double>::infinity();
  for (int mask = 1; mask < 255; ++mask) {
    double s[2] = {0, 0}, w[2] = {0, 0};
    for (int j = 0; j < 8; ++j) s[(mask >> j) & 1] += a[j] * x[j], w[(mask >> j) & 1] += a[j];
    double obj = 0;
    for (int j = 0; j < 8; ++j) {
      const int g = (mask >> j) & 1;
      obj += a[j] * (x[j] - s[g] / w[g]) * (x[j] - s[g] / w[g]);
    }
    best = std::min(best, obj);
  }
  Rng rng(4, Purpose::kPosttrain);
  std::vector<float> c = kmeans_pp(p, 2, rng);
  std::vector<std::uint32_t> as(8);
  const double got = lloyd(p, c, as, 50);
  EXPECT_NEAR(got, best, 1e-4 * best);
}

TEST(Storage, BitsPerWeightAndRatios) {
  model::ParamLayout l;
  l.add("w", {10, 10}, model::VarKind::kDenseWeight);  // 100: coded, block 4, 5 bits, 32 entries
  l.add("b", {10}, model::VarKind::kBias);             // 10: fp32
  fl::CodedVariable c;
  c.var = 0;
  c.bits = 5;
  c.block = 4;
  c.codebook.assign(32 * 4, 0.0f);
  c.codes.assign(25, 0);
  const fl::CodedVariable cs[] = {c};
  const StorageSize s = storage_size(l, cs);
  EXPECT_EQ(s.fp32_bits, 32 * 110);
  EXPECT_EQ(s.code_bits, 25 * 5);
  EXPECT_EQ(s.codebook_bits, 32 * 128);
  EXPECT_EQ(s.plain_bits, 320);
  EXPECT_DOUBLE_EQ(s.bits_per_weight[0], (125.0 + 4096.0) / 100.0);
  EXPECT_DOUBLE_EQ(s.bits_per_weight[1], 32.0);
  EXPECT_DOUBLE_EQ(s.ratio(), 3520.0 / (125 + 4096 + 320));
  EXPECT_DOUBLE_EQ(s.ratio_without_codebooks(), 3520.0 / (125 + 320));
  EXPECT_EQ(bits_for(1), 1);
  EXPECT_EQ(bits_for(32), 5);
  EXPECT_EQ(bits_for(33), 6);
  // An affine 8-bit grid counts lo and step, and decodes within half a step.
  std::vector<float> m(110);
  for (std::size_t j = 0; j < m.size(); ++j) m[j] = std::sin(static_cast<float>(j));
  const fl::CodedVariable b = affine8(l, 1, m);
  EXPECT_EQ(codebook_bits(b), 64);
  std::vector<float> back = m;
  decode(l, b, back);
  const float step = (b.codebook.back() - b.codebook.front()) / 255.0f;
  for (std::size_t j = 100; j < 110; ++j) EXPECT_LE(std::fabs(back[j] - m[j]), 0.5f * step + 1e-6f);
}

TEST(Gwk, ClustersSubVectorsSmallLayersAndBiases) {
  model::ParamLayout l;
  l.add("big.weight", {300, 10}, model::VarKind::kDenseWeight);  // 3000: block 6, 2^bits clusters
  l.add("small.weight", {30, 20}, model::VarKind::kDenseWeight);  // 600: affine 8-bit
  l.add("big.bias", {300}, model::VarKind::kBias);               // affine 8-bit
  std::vector<float> w = normal_weights(static_cast<int>(l.size()), 7);
  Oracle oracle(w, -0.5f, 0.5f);
  PosttrainSection cfg;
  cfg.bits = 4;
  cfg.block = 6;
  GwkPhase phase(cfg, l, 3);
  std::vector<float> model = w;
  phase.compress(oracle, model);
  const fl::CompressionReport r = phase.finish(oracle, model);
  ASSERT_EQ(r.coded.size(), 3u);
  EXPECT_EQ(r.coded[0].block, 6);
  EXPECT_EQ(r.coded[0].bits, 4);
  EXPECT_EQ(r.coded[0].codebook.size(), 16u * 6);
  EXPECT_EQ(r.coded[1].block, 1);
  EXPECT_EQ(r.coded[1].bits, 8);
  EXPECT_TRUE(r.coded[1].codebook_affine);
  EXPECT_EQ(codebook_bits(r.coded[1]), 64);
  EXPECT_TRUE(r.coded[2].codebook_affine);
  // The model is exactly its decoded codes; sub-vectors take at most 16 values.
  std::vector<float> decoded(model.size(), 0.0f);
  for (const auto& c : r.coded) decode(l, c, decoded);
  EXPECT_EQ(decoded, model);
  std::set<std::vector<float>> blocks;
  for (std::size_t j = 0; j < 3000; j += 6) blocks.insert(std::vector<float>(model.begin() + j, model.begin() + j + 6));
  EXPECT_LE(blocks.size(), 16u);
  // Clustering reduces the error against the original far below a random codebook's.
  double err = 0;
  for (std::size_t j = 0; j < 3000; ++j) err += (model[j] - w[j]) * (model[j] - w[j]);
  EXPECT_LT(err / 3000, 0.7);  // unit-variance weights: a 16-entry 6-D codebook explains some
  // Same seed, same result.
  GwkPhase again(cfg, l, 3);
  std::vector<float> model2 = w;
  again.compress(oracle, model2);
  again.finish(oracle, model2);
  EXPECT_EQ(model2, model);
}

}  // namespace
