// Sampling, sharding, budgets and server optimizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "fedhpc/fl/named_state.hpp"
#include "fedhpc/sim/downlink.hpp"
#include "fedhpc/sim/memory_budget.hpp"
#include "fedhpc/sim/sampler.hpp"
#include "fedhpc/sim/server_optimizer.hpp"
#include "fedhpc/sim/sharding.hpp"

using namespace fedhpc;

TEST(Sampler, DistinctSortedAndKeyedByRound) {
  for (int k : {1, 10, 600, 1000}) {
    const auto a = sim::sample_clients(3, 5, 1000, k);
    ASSERT_EQ(a.size(), static_cast<std::size_t>(k));
    EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
    EXPECT_EQ(std::set<int>(a.begin(), a.end()).size(), a.size());
    EXPECT_GE(a.front(), 0);
    EXPECT_LT(a.back(), 1000);
    EXPECT_EQ(a, sim::sample_clients(3, 5, 1000, k));
  }
  EXPECT_NE(sim::sample_clients(3, 5, 1000, 10), sim::sample_clients(3, 6, 1000, 10));
  EXPECT_NE(sim::sample_clients(3, 5, 1000, 10), sim::sample_clients(4, 5, 1000, 10));
}

TEST(Sampler, UniformOverClients) {
  // Each client of 100 is picked with probability 10/100 per round.
  std::vector<int> hits(100, 0);
  const int rounds = 4000;
  for (int r = 0; r < rounds; ++r)
    for (int c : sim::sample_clients(11, r, 100, 10)) ++hits[static_cast<std::size_t>(c)];
  for (int h : hits) EXPECT_NEAR(h, 400, 5 * std::sqrt(400 * 0.9)) ;
}

TEST(Sampler, DropoutRate) {
  int dropped = 0;
  for (int c = 0; c < 20000; ++c) dropped += sim::drops_out(1, 2, c, 0.3);
  EXPECT_NEAR(dropped / 20000.0, 0.3, 0.02);
  EXPECT_FALSE(sim::drops_out(1, 2, 3, 0.0));
}

TEST(Sharding, BalancesSamples) {
  std::vector<std::int64_t> sizes(1000);
  for (std::size_t i = 0; i < sizes.size(); ++i) sizes[i] = 1 + static_cast<std::int64_t>((i * 7919) % 300);
  for (int ranks : {1, 2, 3, 4, 7}) {
    const auto owner = sim::assign_clients(sizes, ranks);
    std::vector<std::int64_t> load(static_cast<std::size_t>(ranks), 0);
    for (std::size_t c = 0; c < sizes.size(); ++c) load[static_cast<std::size_t>(owner[c])] += sizes[c];
    const auto [mn, mx] = std::minmax_element(load.begin(), load.end());
    EXPECT_LE(*mx - *mn, 300) << ranks << " ranks";  // within one client's size
  }
}

TEST(Sharding, BalanceRoundEvensOutTheSampledLoad) {
  // A round's 100 clients, home ranks skewed: rank 0 holds 60 of them.
  std::vector<double> cost(100);
  std::vector<int> home(100);
  for (std::size_t i = 0; i < cost.size(); ++i) {
    cost[i] = 20.0 + static_cast<double>((i * 7919) % 200);
    home[i] = i < 60 ? 0 : 1;
  }
  cost[7] = 0.0;  // not trained: never moves
  const auto load = [&](const std::vector<int>& w, int r) {
    double l = 0.0;
    for (std::size_t i = 0; i < w.size(); ++i) l += w[i] == r ? cost[i] : 0.0;
    return l;
  };
  const double total = load(home, 0) + load(home, 1);
  const auto worker = sim::balance_round(cost, home, 2, 25);
  EXPECT_EQ(worker, sim::balance_round(cost, home, 2, 25));  // a function of its inputs
  EXPECT_EQ(worker[7], 0);
  std::size_t moved = 0;
  for (std::size_t i = 0; i < worker.size(); ++i) {
    moved += worker[i] != home[i] ? 1 : 0;
    if (worker[i] != home[i]) {
      EXPECT_EQ(home[i], 0) << "only the loaded rank gives clients away";
    }
  }
  EXPECT_GT(moved, 0u);
  EXPECT_LE(moved, 25u);
  EXPECT_LE(std::max(load(worker, 0), load(worker, 1)), 0.51 * total);
  EXPECT_GT(load(home, 0), 0.55 * total);  // the test starts unbalanced

  // The cap bounds the moves; a balanced round moves nothing; one rank keeps all.
  const auto one = sim::balance_round(cost, home, 2, 1);
  EXPECT_EQ(std::count_if(one.begin(), one.end(), [&, i = 0](int w) mutable { return w != home[i++]; }), 1);
  const auto capped = sim::balance_round(cost, std::vector<int>(100, 3), 4, 3);
  EXPECT_EQ(std::count(capped.begin(), capped.end(), 3), 97) << "rank 3 sends at most 3 away";
  std::vector<int> even(100);
  for (std::size_t i = 0; i < even.size(); ++i) even[i] = static_cast<int>(i % 2);
  std::vector<double> flat(100, 5.0);
  EXPECT_EQ(sim::balance_round(flat, even, 2, 25), even);
  EXPECT_EQ(sim::balance_round(cost, std::vector<int>(100, 0), 1, 25), std::vector<int>(100, 0));

  // Within the tolerance (1 %) nothing moves; without it the same round would.
  const std::vector<double> near{50.0, 0.4, 49.9};  // loads 50.4 and 49.9: 0.5 % above the mean
  const std::vector<int> near_home{0, 0, 1};
  EXPECT_EQ(sim::balance_round(near, near_home, 2, 8), near_home);
  EXPECT_NE(sim::balance_round(near, near_home, 2, 8, 0.0), near_home);
  // A rank takes at most `cap` clients of others: ranks 0 and 1 could each send 2 to rank 2.
  std::vector<int> two(100);
  for (std::size_t i = 0; i < two.size(); ++i) two[i] = static_cast<int>(i % 2);
  const auto taken = sim::balance_round(cost, two, 3, 2);
  EXPECT_EQ(std::count(taken.begin(), taken.end(), 2), 2) << "rank 2 takes 2 and no more";

  // Four ranks, everything at home on rank 3: the others get work, no rank above the start.
  const auto four = sim::balance_round(cost, std::vector<int>(100, 3), 4, 100);
  for (int r = 0; r < 4; ++r) EXPECT_GT(load(four, r), 0.2 * total) << r;
}

TEST(MemoryBudget, Distributions) {
  ClientSection c;
  c.budget = BudgetDist::kUniform;
  c.budget_min_mb = 2;
  c.budget_max_mb = 4;
  for (int k = 0; k < 100; ++k) {
    const auto b = sim::memory_budget(c, 1, k);
    EXPECT_GE(b, 2u << 20);
    EXPECT_LE(b, 4u << 20);
    EXPECT_EQ(b, sim::memory_budget(c, 1, k));
  }
  c.budget = BudgetDist::kFixed;
  c.budget_mb = 8;
  EXPECT_EQ(sim::memory_budget(c, 1, 5), 8u << 20);
}

TEST(ServerOptimizer, FedAvgAppliesTheMeanUpdate) {
  ServerSection s;
  s.optimizer = ServerOpt::kFedAvg;
  auto opt = sim::make_server_optimizer(s, 3);
  std::vector<float> w = {1, 2, 3};
  const std::vector<double> d = {0.5, -1, 0};
  opt->step(w, d);
  EXPECT_EQ(w, (std::vector<float>{1.5f, 1.0f, 3.0f}));
  // Zero update leaves the model unchanged for every optimizer.
  for (auto kind : {ServerOpt::kFedAvg, ServerOpt::kFedAvgM, ServerOpt::kFedAdam, ServerOpt::kFedYogi}) {
    s.optimizer = kind;
    auto o = sim::make_server_optimizer(s, 3);
    std::vector<float> v = {1, 2, 3};
    o->step(v, std::vector<double>(3, 0.0));
    EXPECT_EQ(v, (std::vector<float>{1, 2, 3}));
  }
}

TEST(ServerOptimizer, AdaptiveMovesAlongTheUpdate) {
  ServerSection s;
  s.lr = 0.1;
  for (auto kind : {ServerOpt::kFedAvgM, ServerOpt::kFedAdam, ServerOpt::kFedYogi}) {
    s.optimizer = kind;
    auto o = sim::make_server_optimizer(s, 2);
    std::vector<float> w = {0, 0};
    for (int t = 0; t < 5; ++t) o->step(w, std::vector<double>{1.0, -1.0});
    EXPECT_GT(w[0], 0.0f);
    EXPECT_LT(w[1], 0.0f);
    EXPECT_FLOAT_EQ(w[0], -w[1]);
  }
  // FedAdam's first step: m = (1-b1) d, v = b2 tau^2 + (1-b2) d^2.
  s.optimizer = ServerOpt::kFedAdam;
  auto adam = sim::make_server_optimizer(s, 1);
  std::vector<float> w = {0};
  adam->step(w, std::vector<double>{2.0});
  const double m = 0.1 * 2.0, v = 0.99 * 1e-6 + 0.01 * 4.0;
  EXPECT_NEAR(w[0], 0.1 * m / (std::sqrt(v) + 1e-3), 1e-6);
}

TEST(Downlink, ClientsFollowTheServerModelWithErrorFeedback) {
  // Top-10 % broadcasts of w - v: v moves by exactly the kept entries, and
  // what is not sent yet stays in w - v until it is.
  const std::size_t n = 100;
  compress::UpdateCodecSpec spec;
  spec.kind = compress::UpdateCodecKind::kTopK;
  spec.ratio = 0.1;
  sim::DownlinkStage stage(spec, n, 4, 1);
  std::vector<float> w(n), v(n);
  for (std::size_t j = 0; j < n; ++j) w[j] = static_cast<float>(j % 7);
  stage.start(w);
  ASSERT_TRUE(stage.publish(w, v));
  EXPECT_EQ(v, w) << "clients start from the initial model";
  for (std::size_t j = 0; j < n; ++j) w[j] += static_cast<float>(j) * 0.01f;  // a server step
  stage.after_step(0, w);
  stage.publish(w, v);
  std::size_t moved = 0, at_w = 0;
  for (std::size_t j = 0; j < n; ++j) {
    moved += v[j] != static_cast<float>(j % 7);
    at_w += v[j] == w[j];
  }
  EXPECT_EQ(moved, 10u);
  EXPECT_GE(at_w, 10u);
  EXPECT_EQ(stage.update_bytes(), static_cast<std::int64_t>(compress::support_bytes(n, 10) + 40));
  // Ten more broadcasts without a step send the rest: v reaches w.
  for (int r = 1; r <= 10; ++r) stage.after_step(r, w);
  stage.publish(w, v);
  for (std::size_t j = 0; j < n; ++j) EXPECT_NEAR(v[j], w[j], 1e-5) << j;
}

TEST(Downlink, AClientDownloadsTheMissedBroadcastsOrTheModelWhicheverIsSmaller) {
  const std::size_t n = 1000;
  compress::UpdateCodecSpec spec;
  spec.kind = compress::UpdateCodecKind::kTopK;
  spec.ratio = 0.1;  // 525 bytes per broadcast, the model 4,000
  sim::DownlinkStage stage(spec, n, 3, 1);
  std::vector<float> w(n, 0.0f);
  stage.start(w);
  const std::int64_t model = 4 * static_cast<std::int64_t>(n);
  EXPECT_EQ(stage.downlink_bytes(0, 1, model), model) << "first download: the model";
  for (int r = 0; r < 30; ++r) {
    for (std::size_t j = 0; j < n; ++j) w[j] += 1.0f + static_cast<float>(j % 13);
    stage.after_step(r, w);
  }
  const std::int64_t one = stage.update_bytes();  // every broadcast keeps k = 100 entries
  EXPECT_EQ(one, 525);
  EXPECT_EQ(stage.downlink_bytes(3, 1, model), 3 * one) << "rounds 0, 1, 2 missed";
  EXPECT_EQ(stage.downlink_bytes(4, 1, model), one);
  EXPECT_EQ(stage.downlink_bytes(30, 1, model), model) << "26 broadcasts cost more than the model";
  EXPECT_EQ(stage.downlink_bytes(37, 1, model), 0) << "nothing was broadcast after round 29";
  EXPECT_EQ(stage.downlink_bytes(30, 2, model), model);
  // The state survives a checkpoint: the copy, the visits and the sizes.
  fl::NamedState saved;
  stage.save(saved);
  sim::DownlinkStage back(spec, n, 3, 1);
  back.load(saved);
  std::vector<float> a(n), b(n);
  stage.publish(w, a);
  back.publish(w, b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(back.downlink_bytes(32, 2, model), stage.downlink_bytes(32, 2, model));
  EXPECT_EQ(back.downlink_bytes(31, 0, model), model);
}
