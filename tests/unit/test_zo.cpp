// Zeroth-order clients (train/zo_trainer.hpp) through make_trainer: the
// estimate points along the true gradient more closely as K grows, the server
// regenerates the client's estimate from its seed and K differences bit for
// bit, pruned coordinates never move, and the memory model is far below
// backprop's.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <set>
#include <cmath>
#include <numbers>
#include <numeric>
#include <vector>

#include "fedhpc/model/loss.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/train/local_trainer.hpp"
#include "fedhpc/train/param_store.hpp"
#include "fedhpc/train/zo_trainer.hpp"

using namespace fedhpc;

namespace {

struct Client {
  std::vector<float> x;
  std::vector<std::int32_t> y;
  int n;
};

Client client(int n, int d, int classes) {
  Client c{std::vector<float>(static_cast<std::size_t>(n * d)), std::vector<std::int32_t>(static_cast<std::size_t>(n)), n};
  Rng rng(3, Purpose::kBench);
  for (auto& v : c.x) v = static_cast<float>(rng.normal());
  for (auto& v : c.y) v = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes)));
  return c;
}

RunConfig zo_config(int K) {
  RunConfig cfg;
  cfg.model.arch = Arch::kMlp;
  cfg.model.hidden = {6};
  cfg.client.trainer = ClientTrainer::kZo;
  cfg.client.batch_size = 16;
  cfg.client.lr = 1.0;  // the contribution is -g
  cfg.zo.directions = K;
  return cfg;
}

double cosine(std::span<const float> a, std::span<const float> b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t j = 0; j < a.size(); ++j) {
    ab += double(a[j]) * b[j];
    aa += double(a[j]) * a[j];
    bb += double(b[j]) * b[j];
  }
  return ab / std::sqrt(aa * bb);
}

TEST(Rng, FillNormalHasStandardMomentsAndIsDeterministic) {
  std::vector<float> a(1000001), b(a.size());
  Rng r1(5, Purpose::kZeroOrder, 1, 2), r2(5, Purpose::kZeroOrder, 1, 2);
  r1.fill_normal(a);
  r2.fill_normal(b);
  EXPECT_EQ(a, b);
  double m = 0, v = 0, k4 = 0;
  for (const float x : a) m += x;
  m /= static_cast<double>(a.size());
  for (const float x : a) {
    v += (x - m) * (x - m);
    k4 += std::pow(x - m, 4);
  }
  v /= static_cast<double>(a.size());
  k4 /= static_cast<double>(a.size()) * v * v;
  EXPECT_NEAR(m, 0.0, 0.005);
  EXPECT_NEAR(v, 1.0, 0.005);
  EXPECT_NEAR(k4, 3.0, 0.05);  // Gaussian kurtosis
  for (const float x : a) ASSERT_TRUE(std::isfinite(x));
}

TEST(Rng, FillNormalIsBoxMullerOnItsDrawsWithinPolynomialError) {
  // Reference: libm's Box-Muller in double on the same 24-bit uniforms: per
  // chunk of up to 256 values, the cosine branches of its draws, then the sines.
  std::vector<float> a(1001);  // 3 full chunks and an odd tail
  Rng r(9, Purpose::kZeroOrder, 3, 4), parent(9, Purpose::kZeroOrder, 3, 4);
  r.fill_normal(a);
  RngLanes lanes(parent);
  double worst = 0.0;
  std::vector<std::uint64_t> draws(128);
  for (std::size_t i = 0; i < a.size(); i += 256) {
    const std::size_t n = std::min<std::size_t>(256, a.size() - i), m = (n + 1) / 2;
    lanes.fill(draws.data(), (m + 7) / 8 * 8);
    for (std::size_t p = 0; p < m; ++p) {
      const double u1 = (static_cast<double>(draws[p] >> 40) + 1.0) * 0x1.0p-24;
      const double u2 = static_cast<double>((draws[p] >> 16) & 0xFFFFFFu) * 0x1.0p-24;
      const double rad = std::sqrt(-2.0 * std::log(u1)), t = 2.0 * std::numbers::pi * u2;
      worst = std::max(worst, std::abs(a[i + p] - rad * std::cos(t)));
      if (m + p < n) worst = std::max(worst, std::abs(a[i + m + p] - rad * std::sin(t)));
    }
  }
  EXPECT_LT(worst, 5e-6);  // |x| <= 5.8 for 24-bit uniforms: about 1e-6 relative
}

TEST(Rng, LanesDrawDistinctBalancedBits) {
  Rng parent(1, Purpose::kBench);
  RngLanes lanes(parent);
  std::vector<std::uint64_t> r(8 * 64);
  lanes.fill(r.data(), r.size());
  std::set<std::uint64_t> distinct(r.begin(), r.end());
  EXPECT_EQ(distinct.size(), r.size());
  // Bits are balanced over all draws.
  std::size_t ones = 0;
  for (const auto v : r) ones += static_cast<std::size_t>(std::popcount(v));
  EXPECT_NEAR(static_cast<double>(ones) / (64.0 * static_cast<double>(r.size())), 0.5, 0.01);
}

TEST(ZoTrainer, EstimateAlignsWithTheGradientMoreAsKGrows) {
  const int d = 8, classes = 3;
  const Client c = client(40, d, classes);
  std::vector<double> mean_cos;
  for (const int K : {4, 64, 1024}) {
    RunConfig cfg = zo_config(K);
    auto net = model::make_network(cfg.model, data::Shape{1, 1, d}, classes);
    net->reserve(40);
    std::vector<float> w(net->layout().size());
    Rng init(1, Purpose::kInit);
    net->init(w, init);
    // The true gradient of the mean loss over the client's examples.
    std::vector<float> g(w.size()), dl(static_cast<std::size_t>(40 * classes));
    model::FlatParams src(net->layout(), w);
    const auto logits = net->forward(src, c.x.data(), 40);
    model::softmax_cross_entropy(logits, c.y.data(), 40, classes, 1.0f / 40, dl);
    net->backward(src, dl, g);
    auto trainer = train::make_trainer(cfg, *net);
    double sum = 0;
    for (int rep = 0; rep < 8; ++rep) {
      trainer->begin_round(rep, w);
      train::ClientStreams streams(7, rep, 1);
      const auto res = trainer->train({c.x.data(), c.y.data(), 40}, streams);
      EXPECT_FALSE(res.diverged);
      const auto up = trainer->upload();
      EXPECT_TRUE(up.before.empty());
      EXPECT_EQ(up.bytes, 4 * K + train::kZoHeaderBytes);
      std::vector<float> minus_g(up.after.begin(), up.after.end());  // -lr g with lr 1
      for (float& v : minus_g) v = -v;
      sum += cosine(minus_g, g);
    }
    mean_cos.push_back(sum / 8);
  }
  EXPECT_GT(mean_cos[0], 0.0);
  EXPECT_GT(mean_cos[1], mean_cos[0]);
  EXPECT_GT(mean_cos[2], mean_cos[1]);
  EXPECT_GT(mean_cos[2], 0.5);
}

TEST(ZoTrainer, ServerRegeneratesTheEstimateFromSeedAndDifferences) {
  const int d = 8, classes = 3, K = 5;
  const Client c = client(20, d, classes);
  RunConfig cfg = zo_config(K);
  cfg.client.lr = 0.1;
  cfg.zo.batch = 16;  // two forward passes per loss (16 + 4 examples), as below
  auto net = model::make_network(cfg.model, data::Shape{1, 1, d}, classes);
  net->reserve(20);
  std::vector<float> w(net->layout().size());
  Rng init(2, Purpose::kInit);
  net->init(w, init);
  train::ZoTrainer trainer(cfg, *net, train::make_param_store(cfg, net->layout()));
  trainer.begin_round(0, w);
  train::ClientStreams streams(4, 0, 3);
  trainer.train({c.x.data(), c.y.data(), 20}, streams);
  EXPECT_GT(trainer.pass_seconds(), 0.0);  // the client's forward passes were timed
  ASSERT_EQ(trainer.sent().size(), static_cast<std::size_t>(K));
  // The server's side: directions from the seed, variable by variable.
  std::vector<float> g(w.size(), 0.0f);
  const auto& layout = net->layout();
  for (int k = 0; k < K; ++k)
    for (std::size_t i = 0; i < layout.num_vars(); ++i) {
      std::vector<float> u(layout.var(i).size);
      train::zo_direction(trainer.seed(), k, i, u);
      const float coef = static_cast<float>(trainer.sent()[static_cast<std::size_t>(k)]) * (1.0f / K);
      for (std::size_t j = 0; j < u.size(); ++j) g[layout.var(i).offset + j] += coef * u[j];
    }
  // Clipped to |g|_inf <= zo.clip, as the step -lr g.
  for (float& v : g) v = -0.1f * std::clamp(v, -0.3f, 0.3f);
  const auto up = trainer.upload();
  for (std::size_t j = 0; j < g.size(); ++j) ASSERT_EQ(up.after[j], g[j]) << j;
  // The differences are what perturbing w by sigma u_k gives (k = 0).
  model::FlatParams base(layout, w);
  train::PerturbedSource pert(layout, base, {});
  pert.set(trainer.seed(), 0, static_cast<float>(cfg.zo.sigma));
  auto mean_loss = [&](model::ParamSource& s) {
    const auto logits = net->forward(s, c.x.data(), 16);
    double sum = model::softmax_cross_entropy(logits, c.y.data(), 16, classes, 1.0f, {}).loss_sum;
    const auto rest = net->forward(s, c.x.data() + 16 * d, 4);
    sum += model::softmax_cross_entropy(rest, c.y.data() + 16, 4, classes, 1.0f, {}).loss_sum;
    return sum / 20;
  };
  const double L0 = mean_loss(base), L1 = mean_loss(pert);
  EXPECT_DOUBLE_EQ(trainer.sent()[0], (L1 - L0) / cfg.zo.sigma);
}

TEST(ZoTrainer, MemoryModelHoldsNoGradientsAndOneVariablesPerturbation) {
  RunConfig cfg = zo_config(20);
  cfg.model.arch = Arch::kLeNet5;
  cfg.zo.batch = 16;  // as many examples per forward pass as backprop's minibatch
  auto net = model::make_network(cfg.model, data::Shape{1, 28, 28}, 10);
  net->reserve(16);
  auto zo = train::make_trainer(cfg, *net);
  cfg.client.trainer = ClientTrainer::kBackprop;
  auto bp = train::make_trainer(cfg, *net);
  std::vector<float> w(net->layout().size(), 0.0f);
  zo->begin_round(0, w);
  bp->begin_round(0, w);
  const auto mz = zo->peak_memory(60), mb = bp->peak_memory(60);
  EXPECT_EQ(mz.params, mb.params);
  EXPECT_EQ(mz.gradients, 8u * 20);  // the K differences, no gradient buffer
  EXPECT_EQ(mb.gradients, 4u * net->layout().size());
  EXPECT_EQ(mz.optimizer, 0u);
  EXPECT_EQ(mz.decoded, 4u * (train::kZoTile + train::kZoBlock));  // one tile's perturbed copy and a block
  EXPECT_LT(mz.total(), mb.total());
}

}  // namespace

TEST(PerturbedSource, PackedCopyReadsExactlyWhatTheMaskedModelHolds) {
  // A pruned model read from its packed copy (kept values only) equals the
  // same model read from dense storage, bit for bit, for every range shape:
  // unaligned starts, odd lengths, ranges across direction blocks; with and
  // without the perturbation (the vectorised decode and the scalar tail).
  model::ParamLayout layout;
  layout.add("a", {3, 5}, model::VarKind::kDenseWeight);
  layout.add("b", {7}, model::VarKind::kBias);
  layout.add("c", {61, 83}, model::VarKind::kDenseWeight);  // 5,063: across 1,024-element blocks
  std::vector<float> w(layout.size());
  std::vector<std::uint8_t> active(layout.size());
  Rng rng(4, Purpose::kBench);
  for (std::size_t j = 0; j < w.size(); ++j) {
    active[j] = rng.uniform() < 0.3 ? 1 : 0;
    w[j] = active[j] != 0 ? static_cast<float>(rng.normal()) : 0.0f;  // the broadcast is w ⊙ m
  }
  model::FlatParams flat(layout, w);
  train::PerturbedSource dense(layout, flat, active), packed(layout, flat, active);
  packed.pack(flat, active);
  const std::vector<std::pair<std::size_t, std::size_t>> ranges = {
      {0, 15}, {3, 9}, {0, 7}, {0, 5063}, {1, 4096}, {1000, 50}, {1017, 33}, {2047, 2000}, {5000, 63}};
  for (const float scale : {0.0f, 0.25f}) {
    for (const auto& [begin, count] : ranges) {
      const std::size_t var = count == 15 || (begin == 3 && count == 9) ? 0 : count == 7 ? 1 : 2;
      if (scale == 0.0f) {
        dense.unperturbed();
        packed.unperturbed();
      } else {
        dense.set(11, 2, scale);
        packed.set(11, 2, scale);
      }
      const auto a = dense.acquire_range(var, begin, count);
      const std::vector<float> expect(a.begin(), a.end());
      const auto b = packed.acquire_range(var, begin, count);
      for (std::size_t j = 0; j < count; ++j)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(b[j]), std::bit_cast<std::uint32_t>(expect[j]))
            << "var " << var << " begin " << begin << " j " << j << " scale " << scale;
    }
  }
  // Only the kept values are held (plus the block counts and the buffer).
  const auto kept = static_cast<std::uint64_t>(std::count(active.begin(), active.end(), std::uint8_t{1}));
  EXPECT_LT(packed.capacity_bytes(), 4 * kept + 4 * 5063 + 64);
}
