// Error feedback through the production uplink (sim::ClientFeedbackUplink
// around sim::CodecUplink): the client adds its stored residual to its update,
// sends codec(update + residual) and keeps the rest in its ResidualStore.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "fedhpc/compress/residual_store.hpp"
#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/sim/uplink.hpp"

using namespace fedhpc;
using namespace fedhpc::compress;

namespace {

/// A model of one variable of n parameters.
model::ParamLayout flat_layout(std::size_t n) {
  model::ParamLayout layout;
  layout.add("b", {static_cast<int>(n)}, model::VarKind::kBias);
  return layout;
}

struct Trace {
  std::vector<double> updates, sent;  // sums over rounds
  std::vector<float> residual;        // after the last round
  double max_abs_update = 0.0;
};

/// The uplink the simulator builds for one client (id 0 of 1) under client EF.
std::unique_ptr<sim::Uplink> feedback_uplink(UpdateCodecKind kind, ResidualForm form, std::size_t n,
                                             double ratio = 0.01) {
  RunConfig cfg;
  cfg.run.seed = 3;
  cfg.data.num_clients = 1;
  cfg.uplink.codec.kind = kind;
  cfg.uplink.codec.ratio = ratio;
  cfg.uplink.error_feedback = ErrorFeedback::kClient;
  cfg.uplink.residual.form = form;
  const int own[] = {0};
  return sim::make_uplink(cfg, flat_layout(n), own);
}

/// The residual the uplink holds for client 0.
std::vector<float> residual_of(const sim::Uplink& up, std::size_t n) {
  std::vector<float> r(n);
  dynamic_cast<const sim::ClientFeedbackUplink&>(up).residuals().load(0, r);
  return r;
}

/// T rounds of one client with error feedback; the update of round t is a
/// keyed random vector with a persistent bias, so the sums grow with T.
Trace run_client(UpdateCodecKind kind, ResidualForm form, int rounds, std::size_t n) {
  const auto up = feedback_uplink(kind, form, n);
  Trace t;
  t.updates.assign(n, 0.0);
  t.sent.assign(n, 0.0);
  std::vector<float> v(n);
  for (int r = 0; r < rounds; ++r) {
    Rng g(3, Purpose::kBench, static_cast<std::uint64_t>(r));
    for (std::size_t j = 0; j < n; ++j) {
      v[j] = static_cast<float>(0.01 * std::sin(0.1 * static_cast<double>(j)) + 0.02 * g.normal());
      t.updates[j] += v[j];
      t.max_abs_update = std::max(t.max_abs_update, std::fabs(static_cast<double>(v[j])));
    }
    const sim::Sent s = up->send(r, 0, 1, fl::ClientUpload{v, {}, 0});
    EXPECT_TRUE(s.ok);
    EXPECT_TRUE(s.contribution.minus.empty());
    for (std::size_t j = 0; j < n; ++j) t.sent[j] += s.contribution.values[j];
  }
  t.residual = residual_of(*up, n);
  return t;
}

}  // namespace

// sum of what was sent + final residual = sum of updates (fp32 residuals:
// up to float rounding of the per-round subtractions).
TEST(ErrorFeedback, SentPlusResidualEqualsUpdatesWithFp32Residuals) {
  constexpr std::size_t n = 5000;
  for (auto kind : {UpdateCodecKind::kTopK, UpdateCodecKind::kSign, UpdateCodecKind::kQsgd,
                    UpdateCodecKind::kRandK}) {
    const Trace t = run_client(kind, ResidualForm::kFp32, 40, n);
    double worst = 0.0;
    for (std::size_t j = 0; j < n; ++j)
      worst = std::max(worst, std::fabs(t.sent[j] + t.residual[j] - t.updates[j]));
    EXPECT_LT(worst, 40 * 4 * 1e-7 * 50 * t.max_abs_update) << static_cast<int>(kind);
  }
}

// Scaled (unbiased) rand-k is not contractive: under error feedback its
// residual grows without bound, which is why the simulator turns the scaling off.
TEST(ErrorFeedback, ScaledRandKWouldDiverge) {
  UpdateCodecSpec cs;
  cs.kind = UpdateCodecKind::kRandK;
  cs.ratio = 0.01;
  {
    // The simulator's uplink under error feedback uses the contractive form.
    const auto up = feedback_uplink(UpdateCodecKind::kRandK, ResidualForm::kFp32, 2000);
    std::vector<float> v(2000, 0.01f);
    for (int r = 0; r < 30; ++r) up->send(r, 0, 1, fl::ClientUpload{v, {}, 0});
    double norm = 0.0;
    for (const float x : residual_of(*up, 2000)) norm = std::max(norm, std::fabs(static_cast<double>(x)));
    EXPECT_LE(norm, 30 * 0.01 + 1e-5);
  }
  for (bool unbiased : {true, false}) {
    cs.unbiased = unbiased;
    const auto codec = make_update_codec(cs);
    std::vector<float> v(2000, 0.0f), d(2000);
    EncodedUpdate msg;
    double norm = 0.0;
    for (int r = 0; r < 30; ++r) {
      for (auto& x : v) x += 0.01f;
      Rng rng(5, Purpose::kUplink, static_cast<std::uint64_t>(r));
      codec->encode(v, rng, msg);
      codec->decode(msg, d);
      norm = 0.0;
      for (std::size_t j = 0; j < v.size(); ++j) {
        v[j] -= d[j];
        norm = std::max(norm, std::fabs(static_cast<double>(v[j])));
      }
    }
    if (unbiased) EXPECT_GT(norm, 10.0);
    else EXPECT_LE(norm, 30 * 0.01 + 1e-5);
  }
}

// Without error feedback top-1% loses almost everything; with it the residual
// stays bounded while the sums grow, so the sent sum tracks the update sum.
TEST(ErrorFeedback, ResidualStaysBoundedAndSentTracksUpdates) {
  constexpr std::size_t n = 5000;
  const Trace t = run_client(UpdateCodecKind::kTopK, ResidualForm::kFp32, 300, n);
  double err = 0.0, total = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    err += (t.sent[j] - t.updates[j]) * (t.sent[j] - t.updates[j]);
    total += t.updates[j] * t.updates[j];
  }
  EXPECT_LT(std::sqrt(err / total), 0.5);  // without EF: ~0.99 (1 % of coordinates sent once)
}

// Compressed residual storage keeps the invariant up to its storage error:
// int8 adds at most one scale step (max|r|/127 of a 256-block) per round.
TEST(ErrorFeedback, CompressedResidualsKeepTheInvariantWithinTheirBound) {
  constexpr std::size_t n = 5000;
  constexpr int rounds = 40;
  for (auto form : {ResidualForm::kFp16, ResidualForm::kInt8}) {
    const Trace t = run_client(UpdateCodecKind::kTopK, form, rounds, n);
    double worst = 0.0, rmax = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      worst = std::max(worst, std::fabs(t.sent[j] + t.residual[j] - t.updates[j]));
      rmax = std::max(rmax, std::fabs(static_cast<double>(t.residual[j])));
    }
    EXPECT_GT(worst, 0.0) << "compressed storage is lossy";
    // Each round loses at most one step of |r|max-scale; r is bounded by ~rounds*max update.
    EXPECT_LT(worst, rounds * (rounds * t.max_abs_update) / 127.0) << static_cast<int>(form);
  }
}

// Every codec: the residual the uplink keeps is exactly (update + old residual)
// minus what it delivered, and the delivered sum plus the residual conserves
// the update sum up to float rounding.
TEST(ErrorFeedback, UplinkKeepsExactlyWhatItDidNotDeliver) {
  for (const auto kind : {UpdateCodecKind::kTopK, UpdateCodecKind::kThresholdTopK,
                          UpdateCodecKind::kRandK, UpdateCodecKind::kQsgd, UpdateCodecKind::kUniform,
                          UpdateCodecKind::kSign, UpdateCodecKind::kFp16}) {
    const std::size_t n = 777;
    const auto up = feedback_uplink(kind, ResidualForm::kFp32, n, 0.05);
    std::vector<double> sum_updates(n, 0.0), sum_sent(n, 0.0), rounding(n, 0.0);
    std::vector<float> u(n), plus(n);
    for (int step = 0; step < 50; ++step) {
      Rng g(100 + static_cast<std::uint64_t>(step), Purpose::kBench);
      const auto before = residual_of(*up, n);
      for (std::size_t i = 0; i < n; ++i) {
        u[i] = static_cast<float>(g.normal());
        plus[i] = u[i] + before[i];
        sum_updates[i] += u[i];
      }
      const sim::Sent s = up->send(step, 0, 1, fl::ClientUpload{u, {}, 0});
      ASSERT_TRUE(s.ok);
      EXPECT_GT(s.bytes, 0);
      const auto after = residual_of(*up, n);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(after[i], plus[i] - s.contribution.values[i]) << static_cast<int>(kind);
        sum_sent[i] += s.contribution.values[i];
        rounding[i] += 0x1p-24 * (std::fabs(plus[i]) + std::fabs(after[i]));
      }
    }
    const auto r = residual_of(*up, n);
    for (std::size_t i = 0; i < n; ++i)
      EXPECT_NEAR(sum_sent[i] + r[i], sum_updates[i], 2 * rounding[i] + 1e-6)
          << static_cast<int>(kind) << " element " << i;
  }
}

// A non-finite update is rejected before encoding (a quantizer would hide NaN)
// and leaves the residual untouched; so is one too large to sum exactly.
TEST(ErrorFeedback, DivergedUploadChangesNothing) {
  const std::size_t n = 100;
  const auto up = feedback_uplink(UpdateCodecKind::kUniform, ResidualForm::kFp32, n);
  std::vector<float> u(n, 0.5f);
  ASSERT_TRUE(up->send(0, 0, 1, fl::ClientUpload{u, {}, 0}).ok);
  const auto kept = residual_of(*up, n);
  u[7] = std::nanf("");
  EXPECT_FALSE(up->send(1, 0, 1, fl::ClientUpload{u, {}, 0}).ok);
  EXPECT_EQ(residual_of(*up, n), kept);
  // 1e16 fits the exact sum on its own (< 2^62), weighted by 1000 it does not.
  u[7] = 1e16f;
  EXPECT_FALSE(up->send(1, 0, 1000, fl::ClientUpload{u, {}, 0}).ok);
  EXPECT_EQ(residual_of(*up, n), kept);
  EXPECT_TRUE(up->send(1, 0, 1, fl::ClientUpload{u, {}, 0}).ok);
}

// Without a codec the update is after - before, formed exactly in double by
// the aggregator; the plain uplink passes both and the trainer's bytes.
TEST(Uplink, PlainSendsTheExactUpdateAndTheTrainersBytes) {
  RunConfig cfg;
  cfg.data.num_clients = 1;
  const int own[] = {0};
  const auto up = sim::make_uplink(cfg, flat_layout(3), own);
  const std::vector<float> after = {1.0f, 2.0f, 3.0f}, before = {0.5f, 2.0f, -1.0f};
  const sim::Sent s = up->send(0, 0, 7, fl::ClientUpload{after, before, 1234});
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.bytes, 1234);
  EXPECT_EQ(s.contribution.values.data(), after.data());
  EXPECT_EQ(s.contribution.minus.data(), before.data());
  const std::vector<float> bad = {1.0f, std::numeric_limits<float>::infinity(), 0.0f};
  EXPECT_FALSE(up->send(0, 0, 7, fl::ClientUpload{bad, before, 1234}).ok);
  const std::vector<float> big = {1.0f, 1e16f, 0.0f};  // fits alone, not times 1000
  EXPECT_TRUE(up->send(0, 0, 1, fl::ClientUpload{big, before, 1234}).ok);
  EXPECT_FALSE(up->send(0, 0, 1000, fl::ClientUpload{big, before, 1234}).ok);
  EXPECT_FALSE(up->send(0, 0, 1000, fl::ClientUpload{big, {}, 1234}).ok);
}

namespace {

/// Client 0's uplink under `ef` (top-10 %, fp32 residuals), with an aged residual policy.
std::unique_ptr<sim::Uplink> aged_uplink(ErrorFeedback ef, std::size_t n, double decay, int max_age) {
  RunConfig cfg;
  cfg.run.seed = 3;
  cfg.data.num_clients = 1;
  cfg.uplink.codec.kind = UpdateCodecKind::kTopK;
  cfg.uplink.codec.ratio = 0.1;
  cfg.uplink.error_feedback = ef;
  cfg.uplink.residual_decay = decay;
  cfg.uplink.residual_max_age = max_age;
  const int own[] = {0};
  return sim::make_uplink(cfg, flat_layout(n), own);
}

std::vector<float> keyed_update(std::size_t n, int round) {
  Rng g(9, Purpose::kBench, static_cast<std::uint64_t>(round));
  std::vector<float> u(n);
  for (float& v : u) v = static_cast<float>(g.normal());
  return u;
}

}  // namespace

TEST(ErrorFeedback, AResidualIsScaledByDecayToTheAgeAndDroppedBeyondMaxAge) {
  const std::size_t n = 200;
  const auto u0 = keyed_update(n, 0), u4 = keyed_update(n, 4);
  for (const int max_age : {0, 3}) {
    const auto up = aged_uplink(ErrorFeedback::kClient, n, 0.5, max_age);
    ASSERT_TRUE(up->send(0, 0, 1, fl::ClientUpload{u0, {}, 0}).ok);
    EXPECT_EQ(up->client_diagnostics(0).age, -1) << "no residual before the first send";
    const std::vector<float> r0 = residual_of(*up, n);
    const sim::Sent s = up->send(4, 0, 1, fl::ClientUpload{u4, {}, 0});
    ASSERT_TRUE(s.ok);
    EXPECT_EQ(up->client_diagnostics(0).age, 4);
    EXPECT_TRUE(std::isnan(up->client_diagnostics(1).norm_ratio)) << "another client's row";
    // What went out plus what is kept is the update plus 0.5^4 r0 (age 4),
    // or the update alone when the residual is older than max_age = 3.
    const std::vector<float> r4 = residual_of(*up, n);
    double rest = 0, norm = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const float expected = max_age == 3 ? u4[j] : u4[j] + 0.0625f * r0[j];
      EXPECT_EQ(s.contribution.values[j] + r4[j], expected) << j;
      rest += static_cast<double>(r4[j]) * r4[j];
      norm += static_cast<double>(u4[j]) * u4[j];
    }
    EXPECT_DOUBLE_EQ(up->client_diagnostics(0).norm_ratio, std::sqrt(rest / norm));
  }
}

TEST(ErrorFeedback, Ef21SendsTheChangeOfItsStateAndTheServerAddsTheState) {
  const std::size_t n = 200;
  const auto up = aged_uplink(ErrorFeedback::kEf21, n, 1.0, 0);
  std::vector<float> g(n, 0.0f);
  for (int round = 0; round < 4; ++round) {
    const auto u = keyed_update(n, round);
    const sim::Sent s = up->send(round, 0, 1, fl::ClientUpload{u, {}, 0});
    ASSERT_TRUE(s.ok);
    // The message is top-k of u - g: k entries change g, exactly by u - g.
    std::size_t changed = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const float next = s.contribution.values[j];
      if (next != g[j]) {
        ++changed;
        EXPECT_EQ(next, g[j] + (u[j] - g[j])) << round << " " << j;
      }
      g[j] = next;
    }
    EXPECT_EQ(changed, kept_count(n, 0.1)) << round;
    EXPECT_EQ(s.bytes, static_cast<std::int64_t>(support_bytes(n, kept_count(n, 0.1)) + 4 * kept_count(n, 0.1)));
    EXPECT_EQ(residual_of(*up, n), g) << "the client keeps the state the server added";
  }
}

TEST(Uplink, DensityWarmUpFallsGeometricallyToTheRatio) {
  RunConfig cfg;
  cfg.data.num_clients = 1;
  cfg.uplink.codec.kind = UpdateCodecKind::kTopK;
  cfg.uplink.codec.ratio = 0.01;
  cfg.uplink.warmup_rounds = 4;
  cfg.uplink.warmup_ratio = 0.25;
  EXPECT_DOUBLE_EQ(cfg.uplink.ratio_at(0), 0.25);
  EXPECT_NEAR(cfg.uplink.ratio_at(2), 0.05, 1e-12);
  EXPECT_DOUBLE_EQ(cfg.uplink.ratio_at(4), 0.01);
  EXPECT_DOUBLE_EQ(cfg.uplink.ratio_at(99), 0.01);
  const std::size_t n = 1000;
  const int own[] = {0};
  const auto up = sim::make_uplink(cfg, flat_layout(n), own);
  const auto u = keyed_update(n, 0);
  for (const int round : {0, 2, 4, 0}) {
    const sim::Sent s = up->send(round, 0, 1, fl::ClientUpload{u, {}, 0});
    ASSERT_TRUE(s.ok);
    const auto nonzero = std::count_if(s.contribution.values.begin(), s.contribution.values.end(),
                                       [](float v) { return v != 0.0f; });
    EXPECT_EQ(static_cast<std::size_t>(nonzero), kept_count(n, cfg.uplink.ratio_at(round))) << round;
  }
}

TEST(ErrorFeedback, Ef21RejectsAStateTheExactSumCouldNotHold) {
  // Round 0 puts 2e15 into g; round 1 delivers another 3e15. Weighted by
  // 1,000 the delivered part fits the exact sum (3e18 < 2^62), the state
  // (5e15, 5e18) does not.
  const std::size_t n = 200;
  const auto up = aged_uplink(ErrorFeedback::kEf21, n, 1.0, 0);
  std::vector<float> u(n, 0.0f);
  u[7] = 2e15f;
  ASSERT_TRUE(up->send(0, 0, 1, fl::ClientUpload{u, {}, 0}).ok);
  const std::vector<float> g = residual_of(*up, n);
  EXPECT_EQ(g[7], 2e15f);
  u[7] = 5e15f;
  EXPECT_FALSE(up->send(1, 0, 1000, fl::ClientUpload{u, {}, 0}).ok);
  EXPECT_EQ(residual_of(*up, n), g) << "a rejected send keeps the state";
  EXPECT_TRUE(up->send(1, 0, 1, fl::ClientUpload{u, {}, 0}).ok);
}

TEST(ErrorFeedback, AClientTrainedAsAGuestElsewhereCarriesItsStateThereAndBack) {
  // run.balance = round: client 0 (owned by A) trains on B in round 3 and goes
  // home; everything it sends and keeps equals an uplink that never moved it.
  const std::size_t n = 300;
  const auto make = [&](std::vector<int> own) {
    RunConfig cfg;
    cfg.run.seed = 3;
    cfg.data.num_clients = 2;
    cfg.server.clients_per_round = 2;
    cfg.uplink.codec.kind = UpdateCodecKind::kTopK;
    cfg.uplink.codec.ratio = 0.1;
    cfg.uplink.error_feedback = ErrorFeedback::kClient;
    cfg.uplink.residual.form = ResidualForm::kInt8;
    cfg.uplink.residual_decay = 0.5;
    return sim::make_uplink(cfg, flat_layout(n), own);
  };
  const auto ref = make({0, 1}), a = make({0}), b = make({1});
  const auto send = [&](sim::Uplink& up, int round) {
    const sim::Sent s = up.send(round, 0, 1, fl::ClientUpload{keyed_update(n, round), {}, 0});
    EXPECT_TRUE(s.ok);
    return std::vector<float>(s.contribution.values.begin(), s.contribution.values.end());
  };
  EXPECT_EQ(send(*a, 0), send(*ref, 0));

  std::vector<std::byte> there, back;
  a->pack_state(0, there);
  EXPECT_GT(there.size(), 4u) << "the round header and an int8 residual";
  b->unpack_state(0, there);
  EXPECT_EQ(send(*b, 3), send(*ref, 3)) << "the residual and its age (decay 0.5^3) went along";
  EXPECT_EQ(b->client_diagnostics(0).age, 3);
  b->pack_state(0, back);
  b->drop_guests();
  EXPECT_THROW(b->pack_state(0, back), InternalError) << "a dropped guest is gone";
  a->unpack_state(0, back);
  EXPECT_EQ(send(*a, 5), send(*ref, 5)) << "home again with the state round 3 left";
  EXPECT_EQ(a->client_diagnostics(0).age, 2);
}
