// Pruning (prune/): schedules against hand-computed values, masks, the masked
// store through the real trainer, the server stage, bytes, and SNIP's saliency
// against the closed form of a linear softmax model.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/prune/mask.hpp"
#include "fedhpc/prune/masked_store.hpp"
#include "fedhpc/prune/ntk.hpp"
#include "fedhpc/prune/prune_stage.hpp"
#include "fedhpc/prune/pruning.hpp"
#include "fedhpc/prune/schedule.hpp"
#include "fedhpc/prune/snip.hpp"
#include "fedhpc/train/encoded_store.hpp"
#include "fedhpc/train/sgd_trainer.hpp"

using namespace fedhpc;

namespace {

PruneSection section() {
  PruneSection p;
  p.method = PruneMethod::kFedDip;
  p.sparsity = 0.9;
  p.initial_sparsity = 0.5;
  return p;
}

std::unique_ptr<model::Network> lenet() {
  ModelSection m;
  m.arch = Arch::kLeNet5;
  return model::make_network(m, data::Shape{1, 28, 28}, 10);
}

/// A small MLP client with data, trained through SgdTrainer over a store.
struct Client {
  RunConfig cfg;
  std::unique_ptr<model::Network> net;
  std::vector<float> x, global;
  std::vector<std::int32_t> y;
  Client() {
    cfg.model.arch = Arch::kMlp;
    cfg.model.hidden = {16};
    cfg.client.batch_size = 8;
    cfg.client.epochs = 2;
    cfg.client.lr = 0.1;
    cfg.server.rounds = 10;
    cfg.prune = section();
    net = model::make_network(cfg.model, data::Shape{1, 1, 12}, 3);
    net->reserve(8);
    Rng rng(9, Purpose::kBench);
    for (int i = 0; i < 40; ++i) {
      y.push_back(static_cast<std::int32_t>(rng.below(3)));
      for (int j = 0; j < 12; ++j) x.push_back(static_cast<float>(rng.normal() + (j % 3 == y.back() ? 1.5 : 0.0)));
    }
    global.resize(net->layout().size());
    net->init(global, rng);
  }
  data::ExampleView view() const { return {x.data(), y.data(), static_cast<std::int64_t>(y.size())}; }
  /// Trains one client of round 0 and returns what it uploads.
  std::vector<float> train(std::unique_ptr<train::ParamStore> store) {
    train::SgdTrainer t(cfg.client, *net, std::move(store));
    t.begin_round(0, global);
    train::ClientStreams streams(1, 0, 0);
    t.train(view(), streams);
    const auto up = t.upload();
    return {up.after.begin(), up.after.end()};
  }
};

}  // namespace

TEST(PruneSchedule, CubicSparsityStaircaseAndLrDecay) {
  PruneSection p = section();
  EXPECT_DOUBLE_EQ(prune::sparsity_at(p, 0, 100), 0.5);
  EXPECT_DOUBLE_EQ(prune::sparsity_at(p, 50, 100), 0.9 - 0.4 * 0.125);
  EXPECT_NEAR(prune::sparsity_at(p, 75, 100), 0.9 - 0.4 / 64.0, 1e-15);
  EXPECT_DOUBLE_EQ(prune::sparsity_at(p, 100, 100), 0.9);
  p.schedule_end = 0.5;  // s_p at round 50, then constant
  EXPECT_DOUBLE_EQ(prune::sparsity_at(p, 25, 100), 0.9 - 0.4 * 0.125);
  EXPECT_DOUBLE_EQ(prune::sparsity_at(p, 50, 100), 0.9);
  EXPECT_DOUBLE_EQ(prune::sparsity_at(p, 80, 100), 0.9);
  p.schedule_end = 1.0;
  // T = 100, Q = 20: 5 rounds a segment; segment 0 unregularized.
  for (int t = 0; t < 5; ++t) EXPECT_EQ(prune::lambda_at(p, t, 100), 0.0);
  EXPECT_DOUBLE_EQ(prune::lambda_at(p, 5, 100), 5e-4);
  EXPECT_DOUBLE_EQ(prune::lambda_at(p, 9, 100), 5e-4);
  EXPECT_DOUBLE_EQ(prune::lambda_at(p, 10, 100), 5e-4 + 5e-4 / 19.0);
  EXPECT_DOUBLE_EQ(prune::lambda_at(p, 99, 100), 5e-4 + 5e-4 * 18.0 / 19.0);
  // T = 103: the last segment takes the leftover rounds.
  EXPECT_DOUBLE_EQ(prune::lambda_at(p, 102, 103), 5e-4 + 5e-4 * 18.0 / 19.0);
  // Fewer rounds than segments: one round a segment, capped at Q - 1.
  EXPECT_DOUBLE_EQ(prune::lambda_at(p, 3, 10), 5e-4 + 5e-4 * 2.0 / 19.0);
  EXPECT_DOUBLE_EQ(prune::lambda_at(p, 25, 30), 5e-4 + 5e-4 * 18.0 / 19.0);
  EXPECT_DOUBLE_EQ(prune::lr_factor(p, 0), 1.0);
  EXPECT_NEAR(prune::lr_factor(p, 10), std::pow(0.998, 10), 1e-15);
}

TEST(PruneMask, ErkDensitiesMeetTheTarget) {
  const auto net = lenet();
  const auto& layout = net->layout();
  std::size_t weights = 0;
  for (const auto& v : layout.vars())
    if (v.is_weight()) weights += v.size;
  for (const double density : {0.5, 0.2, 0.1, 0.05, 0.01}) {
    const auto d = prune::erk_densities(layout, density);
    double kept = 0.0;
    for (std::size_t i = 0; i < d.size(); ++i) {
      EXPECT_GE(d[i], 0.0);
      EXPECT_LE(d[i], 1.0);
      if (layout.var(i).is_weight()) {
        kept += d[i] * static_cast<double>(layout.var(i).size);
      } else {
        EXPECT_EQ(d[i], 1.0);
      }
    }
    EXPECT_NEAR(kept / static_cast<double>(weights), density, 1e-9) << density;
    // ERK: smaller layers (larger sum/prod) keep more; conv1 (150 weights) is densest.
    EXPECT_GE(d[0], d[2]);
    prune::Mask m(layout);
    Rng rng(3, Purpose::kPrune);
    m.set_erk_random(density, rng);
    EXPECT_NEAR(1.0 - m.weight_sparsity(), density, 10.0 / static_cast<double>(weights));
  }
  // At density 0.5 the smallest layers are dense.
  EXPECT_EQ(prune::erk_densities(layout, 0.5)[0], 1.0);
}

TEST(PruneMask, GlobalMagnitudeKeepsTheLargestWeightsAndEveryBias) {
  const auto net = lenet();
  const auto& layout = net->layout();
  std::vector<float> w(layout.size());
  Rng rng(4, Purpose::kBench);
  for (auto& v : w) v = static_cast<float>(rng.normal());
  prune::Mask m(layout);
  m.keep_largest(w, 0.1);
  const std::size_t k = static_cast<std::size_t>(std::llround(0.1 * static_cast<double>(m.prunable())));
  float min_kept = 1e30f, max_pruned = 0.0f;
  std::size_t kept_w = 0;
  for (const auto& v : layout.vars())
    for (std::size_t j = v.offset; j < v.offset + v.size; ++j) {
      if (!v.is_weight()) {
        EXPECT_TRUE(m.kept(j));
        continue;
      }
      if (m.kept(j)) {
        ++kept_w;
        min_kept = std::min(min_kept, std::fabs(w[j]));
      } else {
        max_pruned = std::max(max_pruned, std::fabs(w[j]));
      }
    }
  EXPECT_EQ(kept_w, k);
  EXPECT_GE(min_kept, max_pruned);
  EXPECT_EQ(m.kept_total(), k + (layout.size() - m.prunable()));
  EXPECT_EQ(m.support_bytes(), compress::support_bytes(layout.size(), m.kept_total()));
  prune::Mask full(layout);
  EXPECT_EQ(full.support_bytes(), 0u);
  // Ties go to the lower index: all-equal magnitudes keep the first k weights.
  std::vector<float> same(layout.size(), 1.0f);
  m.keep_largest(same, 0.1);
  EXPECT_TRUE(m.kept(layout.var(0).offset));
}

TEST(PruneMask, ErkScopeKeepsTheLargestOfEachLayerAtItsErkDensity) {
  const auto net = lenet();
  const auto& layout = net->layout();
  std::vector<float> w(layout.size());
  Rng rng(6, Purpose::kBench);
  for (auto& v : w) v = static_cast<float>(rng.normal());
  prune::Mask m(layout);
  m.keep_largest_erk(w, 0.1);
  const auto d = prune::erk_densities(layout, 0.1);
  for (std::size_t i = 0; i < layout.num_vars(); ++i) {
    const auto& v = layout.var(i);
    EXPECT_EQ(m.kept_in(i), v.is_weight() ? static_cast<std::size_t>(std::llround(d[i] * v.size)) : v.size);
    if (!v.is_weight()) continue;
    float min_kept = 1e30f, max_pruned = 0.0f;
    for (std::size_t j = v.offset; j < v.offset + v.size; ++j)
      (m.kept(j) ? min_kept : max_pruned) =
          m.kept(j) ? std::min(min_kept, std::fabs(w[j])) : std::max(max_pruned, std::fabs(w[j]));
    EXPECT_GE(min_kept, max_pruned) << v.name;
  }
  EXPECT_NEAR(m.weight_sparsity(), 0.9, 0.001);
}

TEST(PruneStore, FedDipMovesPrunedWeightsWithoutFeedbackTheyStayZero) {
  Client c;
  auto state = std::make_shared<prune::PruneState>(c.net->layout(), c.cfg.prune, c.cfg.server.rounds);
  Rng rng(2, Purpose::kPrune);
  state->mask.set_random(0.5, rng);
  state->mask.apply(c.global);  // the broadcast is w ⊙ m
  const auto& mask = state->mask;
  auto fp32 = [&] { return std::make_unique<train::Fp32Store>(c.net->layout()); };
  using U = prune::MaskedStore::Update;
  // FedDIP, dense upload (dpf_server): pruned coordinates moved.
  const auto dense = c.train(std::make_unique<prune::MaskedStore>(fp32(), state, U::kDense, true));
  // Without feedback: the masked gradient leaves pruned weights at 0.
  const auto frozen = c.train(std::make_unique<prune::MaskedStore>(fp32(), state, U::kFrozen, true));
  // FedDIP code mode uploads theta = w ⊙ m.
  const auto coded = c.train(std::make_unique<prune::MaskedStore>(fp32(), state, U::kDense, false));
  std::size_t moved = 0;
  for (std::size_t j = 0; j < mask.size(); ++j) {
    if (mask.kept(j)) continue;
    moved += dense[j] != 0.0f;
    EXPECT_EQ(frozen[j], 0.0f) << j;
    EXPECT_EQ(coded[j], 0.0f) << j;
  }
  EXPECT_GT(moved, (mask.size() - mask.kept_total()) / 2) << "FedDIP's pruned weights keep moving";
  for (std::size_t j = 0; j < mask.size(); ++j)
    if (mask.kept(j)) {
      EXPECT_EQ(coded[j], dense[j]);
    }
  EXPECT_NE(frozen, c.global);
}

TEST(PruneStore, RegularizerAndLrDecayChangeTheStep) {
  Client c;
  auto state = std::make_shared<prune::PruneState>(c.net->layout(), c.cfg.prune, 100);
  using U = prune::MaskedStore::Update;
  auto run = [&](int round, U u) {
    prune::MaskedStore s(std::make_unique<train::Fp32Store>(c.net->layout()), state, u, true);
    s.begin_round(round, c.global);
    s.start_client();
    std::vector<float> g(c.global.size(), 0.0f), v, out(c.global.size());
    Rng rng(1, Purpose::kBench);
    s.step(g, v, train::SgdHyper{0.5f, 0.0f, 0.0f, 0.0f}, rng);
    s.finish_client(out);
    return out;
  };
  // A zero gradient moves nothing without regularization (round 0: lambda 0)...
  EXPECT_EQ(run(0, U::kDense), c.global);
  EXPECT_EQ(state->lambda, 0.0);
  // ...and shrinks each layer by lr * lambda * theta / ||theta|| with it (round 10).
  const auto r = run(10, U::kDense);
  EXPECT_DOUBLE_EQ(state->lambda, prune::lambda_at(c.cfg.prune, 10, 100));
  const auto& v0 = c.net->layout().var(0);
  double sq = 0.0;
  for (std::size_t j = v0.offset; j < v0.offset + v0.size; ++j) sq += double(c.global[j]) * c.global[j];
  const double lr = 0.5 * std::pow(0.998, 10);
  for (std::size_t j = v0.offset; j < v0.offset + 5; ++j)
    EXPECT_NEAR(r[j], c.global[j] - lr * state->lambda * c.global[j] / std::sqrt(sq), 1e-7);
  const auto& b0 = c.net->layout().var(1);
  EXPECT_EQ(r[b0.offset], c.global[b0.offset]) << "biases are not regularized";
  EXPECT_EQ(run(10, U::kFrozen), c.global) << "no regularizer without feedback";
}

TEST(PruneStore, TiledStoresReadThetaRangeByRange) {
  // OMC storage decoded in 8-element tiles: every acquired range is the masked
  // copy of what the same store reads unmasked, pruned weights read as 0.
  Client c;
  auto state = std::make_shared<prune::PruneState>(c.net->layout(), c.cfg.prune, 10);
  Rng rng(2, Purpose::kPrune);
  state->mask.set_random(0.4, rng);
  c.cfg.storage.codec = compress::StorageSpec::Codec::kInt;
  c.cfg.storage.bits = 8;
  c.cfg.storage.decode_tile = 8;
  auto encoded = [&] { return std::make_unique<train::EncodedStore>(c.cfg, c.net->layout(), c.cfg.storage); };
  prune::MaskedStore s(encoded(), state, prune::MaskedStore::Update::kDense, false);
  auto plain = encoded();
  for (train::ParamStore* p : {static_cast<train::ParamStore*>(&s), static_cast<train::ParamStore*>(plain.get())}) {
    p->begin_round(0, c.global);
    p->start_client();
  }
  model::ParamSource& src = s.source();
  ASSERT_LT(src.tile_elements(), c.net->layout().max_var_size());
  for (std::size_t i = 0; i < c.net->layout().num_vars(); ++i) {
    const auto& v = c.net->layout().var(i);
    for (std::size_t b = 0; b < v.size; b += 8) {
      const std::size_t n = std::min<std::size_t>(8, v.size - b);
      std::vector<float> want(n);
      {
        const model::ScopedRange r(plain->source(), i, b, n);
        std::copy(r.data(), r.data() + n, want.begin());
      }
      const model::ScopedRange r(src, i, b, n);
      for (std::size_t j = 0; j < n; ++j) {
        const std::size_t at = v.offset + b + j;
        EXPECT_EQ(r.data()[j], state->mask.kept(at) ? want[j] : 0.0f) << v.name << " " << at;
      }
    }
  }
}

TEST(PruneStore, BytesAreTheSparseEncoding) {
  Client c;
  auto state = std::make_shared<prune::PruneState>(c.net->layout(), c.cfg.prune, 10);
  Rng rng(2, Purpose::kPrune);
  state->mask.set_random(0.3, rng);
  const auto& m = state->mask;
  using U = prune::MaskedStore::Update;
  prune::MaskedStore s(std::make_unique<train::Fp32Store>(c.net->layout()), state, U::kFrozen, false);
  s.begin_round(0, c.global);
  const auto P = m.size(), k = m.kept_total();
  EXPECT_EQ(s.downlink_bytes(), static_cast<std::int64_t>(compress::support_bytes(P, k) + 4 * k));
  EXPECT_EQ(s.uplink_bytes(), static_cast<std::int64_t>(4 * k));  // the server holds the mask
  EXPECT_EQ(s.stored_bytes(), compress::support_bytes(P, k) + 4 * k);
  EXPECT_EQ(s.transient_bytes(), 4 * c.net->layout().max_var_size());  // one masked variable
  prune::MaskedStore d(std::make_unique<train::Fp32Store>(c.net->layout()), state, U::kDense, true);
  EXPECT_EQ(d.uplink_bytes(), static_cast<std::int64_t>(4 * P));  // dpf_server: dense w
  EXPECT_EQ(d.stored_bytes(), 4 * P + compress::support_bytes(P, k));  // FedDIP holds its dense w
  // OMC: per variable, scalars + kept codes (or 4 bytes per kept fp32 value).
  c.cfg.storage.codec = compress::StorageSpec::Codec::kInt;
  c.cfg.storage.bits = 4;
  c.cfg.storage.weights_only = true;
  auto enc = std::make_unique<train::EncodedStore>(c.cfg, c.net->layout(), c.cfg.storage);
  enc->begin_round(0, c.global);
  std::int64_t expect = static_cast<std::int64_t>(compress::support_bytes(P, k));
  for (std::size_t i = 0; i < c.net->layout().num_vars(); ++i) {
    const auto& v = c.net->layout().var(i);
    const std::size_t kv = m.kept_in(i);
    expect += static_cast<std::int64_t>(v.is_weight() ? 8 + compress::packed_bytes(kv, 4) : 4 * kv);
  }
  prune::MaskedStore e(std::move(enc), state, U::kFrozen, false);
  e.begin_round(0, c.global);
  EXPECT_EQ(e.downlink_bytes(), expect);
}

TEST(PruneStage, CodeModeZeroesAndDpfServerRegrows) {
  Client c;
  for (const PruneMode mode : {PruneMode::kCode, PruneMode::kDpfServer}) {
    PruneSection p = section();
    p.mode = mode;
    p.interval = 2;
    auto state = std::make_shared<prune::PruneState>(c.net->layout(), p, 10);
    prune::PruneStage stage(state, true, 7);
    std::vector<float> model = c.global;
    stage.start(model);  // ERK random at 1 - s_0
    EXPECT_NEAR(state->mask.weight_sparsity(), 0.5, 0.01);
    // A pruned weight grows large in the dense model (clients' feedback).
    std::size_t j = 0;
    while (state->mask.kept(j)) ++j;
    EXPECT_TRUE(mode == PruneMode::kDpfServer || model[j] == 0.0f);
    model[j] = 100.0f;
    stage.after_step(1, model);  // not a re-pruning round
    EXPECT_FALSE(state->mask.kept(j));
    std::vector<float> pub(model.size());
    if (mode == PruneMode::kCode) {
      EXPECT_EQ(model[j], 0.0f) << "code: re-zeroed";
      EXPECT_FALSE(stage.publish(model, pub));
      stage.after_step(2, model);
      EXPECT_FALSE(state->mask.kept(j)) << "code: nothing regrows";
    } else {
      EXPECT_EQ(model[j], 100.0f) << "dpf_server: the dense model keeps it";
      ASSERT_TRUE(stage.publish(model, pub));
      EXPECT_EQ(pub[j], 0.0f);
      stage.after_step(2, model);  // re-prune from the dense model
      EXPECT_TRUE(state->mask.kept(j)) << "dpf_server: it regrows";
      ASSERT_TRUE(stage.publish(model, pub));
      EXPECT_EQ(pub[j], 100.0f);
    }
    EXPECT_NEAR(state->mask.weight_sparsity(), prune::sparsity_at(p, 2, 10), 0.01);
    // scope = erk re-prunes each layer at its ERK share of the same density.
    state->cfg.scope = PruneScope::kErk;
    stage.after_step(4, model);
    const auto d = prune::erk_densities(c.net->layout(), 1.0 - prune::sparsity_at(p, 4, 10));
    for (std::size_t i = 0; i < c.net->layout().num_vars(); ++i) {
      const auto& v = c.net->layout().var(i);
      if (v.is_weight()) {
        EXPECT_EQ(state->mask.kept_in(i), static_cast<std::size_t>(std::llround(d[i] * v.size)));
      }
    }
    state->cfg.scope = PruneScope::kGlobal;
    // The mask round-trips through checkpoint state.
    fl::NamedState saved;
    stage.save(saved);
    auto other = std::make_shared<prune::PruneState>(c.net->layout(), p, 10);
    prune::PruneStage restored(other, true, 7);
    restored.load(saved);
    EXPECT_TRUE(std::equal(other->mask.flags().begin(), other->mask.flags().end(), state->mask.flags().begin()));
  }
}

TEST(PruneSnip, SaliencyOfALinearModelIsItsClosedForm) {
  // Linear softmax (MLP without hidden layers): dL/dW = (1/b) sum_i (p_i - e_yi) x_i^T.
  ModelSection ms;
  ms.arch = Arch::kMlp;
  ms.hidden = {};
  const int d = 5, classes = 3, n = 6;
  auto net = model::make_network(ms, data::Shape{1, 1, d}, classes);
  net->reserve(n);
  std::vector<float> w(net->layout().size());
  Rng rng(8, Purpose::kBench);
  for (auto& v : w) v = static_cast<float>(rng.normal());
  std::vector<float> x(static_cast<std::size_t>(n * d));
  std::vector<std::int32_t> y(n);
  for (auto& v : x) v = static_cast<float>(rng.normal());
  for (auto& v : y) v = static_cast<std::int32_t>(rng.below(classes));
  std::vector<float> sal(w.size());
  Rng order(1, Purpose::kPrune);
  prune::snip_saliency(*net, w, {x.data(), y.data(), n}, n, order, sal);  // the whole batch
  const auto& W = net->layout().var(0);  // (classes, d)
  const auto& B = net->layout().var(1);
  for (int k = 0; k < classes; ++k)
    for (int j = 0; j < d; ++j) {
      double g = 0.0;
      for (int i = 0; i < n; ++i) {
        double z[3], mx = -1e300, s = 0.0;
        for (int c = 0; c < classes; ++c) {
          z[c] = w[B.offset + static_cast<std::size_t>(c)];
          for (int t = 0; t < d; ++t) z[c] += double(w[W.offset + static_cast<std::size_t>(c * d + t)]) * x[static_cast<std::size_t>(i * d + t)];
          mx = std::max(mx, z[c]);
        }
        for (int c = 0; c < classes; ++c) s += std::exp(z[c] - mx);
        const double p = std::exp(z[k] - mx) / s;
        g += (p - (y[static_cast<std::size_t>(i)] == k ? 1.0 : 0.0)) * x[static_cast<std::size_t>(i * d + j)] / n;
      }
      const std::size_t at = W.offset + static_cast<std::size_t>(k * d + j);
      EXPECT_NEAR(sal[at], std::fabs(g * w[at]), 1e-5) << k << "," << j;
    }
  for (std::size_t j = B.offset; j < B.offset + B.size; ++j) EXPECT_EQ(sal[j], 0.0f);
}

TEST(PruneNtk, MaskGradientOfALinearModelIsItsClosedForm) {
  // f(x) = W x + b: d = f1 - f2 = -eps (Delta ⊙ m) x, J = sum_n ||d_n||^2 and
  // dJ/dm_kj = (theta - (theta + eps Delta))_kj sum_n 2 d_nk x_nj = 2 eps^2 Delta_kj sum_n ((Delta ⊙ m) x_n)_k x_nj.
  ModelSection ms;
  ms.arch = Arch::kMlp;
  ms.hidden = {};
  const int d = 5, classes = 3, n = 4;
  auto net = model::make_network(ms, data::Shape{1, 1, d}, classes);
  net->reserve(n);
  const std::size_t P = net->layout().size();
  std::vector<float> theta(P), delta(P, 0.0f), x(static_cast<std::size_t>(n * d));
  Rng rng(12, Purpose::kBench);
  for (auto& v : theta) v = static_cast<float>(rng.normal());
  for (auto& v : x) v = static_cast<float>(rng.normal());
  const auto& W = net->layout().var(0);
  for (std::size_t j = W.offset; j < W.offset + W.size; ++j) delta[j] = static_cast<float>(rng.normal());
  prune::Mask mask(net->layout());
  mask.set_random(0.6, rng);  // some weights pruned
  const double eps = 0.01;
  std::vector<double> acc(P, 0.0);
  const double J = prune::ntk_mask_gradient(*net, mask, theta, delta, eps, x.data(), n, acc);
  double J_ref = 0.0;
  std::vector<double> dm(static_cast<std::size_t>(classes * d), 0.0);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < classes; ++k) {
      double dx = 0.0;  // ((Delta ⊙ m) x_i)_k
      for (int j = 0; j < d; ++j) {
        const std::size_t at = W.offset + static_cast<std::size_t>(k * d + j);
        dx += (mask.kept(at) ? delta[at] : 0.0) * x[static_cast<std::size_t>(i * d + j)];
      }
      J_ref += eps * eps * dx * dx;
      for (int j = 0; j < d; ++j) dm[static_cast<std::size_t>(k * d + j)] += 2.0 * eps * eps * dx * x[static_cast<std::size_t>(i * d + j)];
    }
  EXPECT_NEAR(J, J_ref, 1e-3 * J_ref);
  for (int t = 0; t < classes * d; ++t) {
    const std::size_t at = W.offset + static_cast<std::size_t>(t);
    const double want = delta[at] * dm[static_cast<std::size_t>(t)];
    EXPECT_NEAR(acc[at], want, 2e-3 * std::fabs(want) + 1e-6) << t;
  }
  const auto& B = net->layout().var(1);
  for (std::size_t j = B.offset; j < B.offset + B.size; ++j) EXPECT_EQ(acc[j], 0.0);  // biases unscored
}

TEST(PruneNtk, PhaseKeepsTheScheduledDensityAndRecordsEachIteration) {
  RunConfig cfg;
  cfg.model.arch = Arch::kMlp;
  cfg.model.hidden = {8};
  cfg.prune.method = PruneMethod::kNtk;
  cfg.prune.sparsity = 0.9;
  cfg.prune.ntk_iterations = 3;
  cfg.prune.ntk_resamples = 2;
  auto net = model::make_network(cfg.model, data::Shape{1, 1, 12}, 3);
  net->reserve(16);
  auto p = prune::make_pruning(cfg, *net);
  ASSERT_NE(p->phase, nullptr);
  const std::size_t P = net->layout().size();
  std::vector<float> model(P, 0.0f), out(P);
  std::vector<double> mean(P);
  for (int it = 0; it < 3; ++it) {
    Rng rng(1, Purpose::kPrune, static_cast<std::uint64_t>(it), 7);
    const double trace = p->phase->estimate(it, {}, model, rng, out);
    EXPECT_GT(trace, 0.0);
    for (std::size_t j = 0; j < P; ++j) {
      if (!p->state->mask.kept(j)) {
        EXPECT_EQ(out[j], 0.0f);  // pruned weights stay pruned
      }
      mean[j] = out[j];
    }
    p->phase->finish(it, mean, 1, trace, model);
    EXPECT_NEAR(1.0 - p->state->mask.weight_sparsity(), std::pow(0.1, (it + 1) / 3.0),
                1.0 / static_cast<double>(p->state->mask.prunable())) << it;  // a whole weight
  }
  const auto series = p->phase->series();
  ASSERT_GE(series.size(), 3u);
  EXPECT_EQ(series[0].path, "/ntk/trace");
  EXPECT_EQ(series[0].values.size(), 3u);
  EXPECT_EQ(series[1].values, std::vector<double>(3, 1.0));  // clients
}

TEST(PruneConfig, EachMethodRegistersItsParts) {
  RunConfig cfg;
  cfg.model.arch = Arch::kMlp;
  cfg.model.hidden = {8};
  auto net = model::make_network(cfg.model, data::Shape{1, 1, 12}, 3);
  EXPECT_EQ(prune::make_pruning(cfg, *net), nullptr);
  for (const PruneMethod m : {PruneMethod::kFedDip, PruneMethod::kMagnitude, PruneMethod::kSnip, PruneMethod::kRandom,
                              PruneMethod::kNtk}) {
    cfg.prune.method = m;
    const auto p = prune::make_pruning(cfg, *net);
    ASSERT_NE(p, nullptr);
    EXPECT_NE(p->stage, nullptr);
    EXPECT_EQ(p->phase != nullptr, m == PruneMethod::kSnip || m == PruneMethod::kNtk);
    EXPECT_EQ(p->dense_update, m == PruneMethod::kFedDip);
  }
}
