// Local training: stores agree, the memory model is explicit, OMC trains.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "fedhpc/train/encoded_store.hpp"
#include "fedhpc/train/sgd_trainer.hpp"

using namespace fedhpc;

namespace {

struct Fixture {
  RunConfig cfg;
  std::unique_ptr<model::Network> net;
  std::vector<float> x;
  std::vector<std::int32_t> y;
  std::vector<float> global;

  explicit Fixture(int n = 40) {
    cfg.model.arch = Arch::kMlp;
    cfg.model.hidden = {24};
    cfg.client.batch_size = 8;
    cfg.client.epochs = 2;
    cfg.client.lr = 0.1;
    cfg.client.momentum = 0.9;
    cfg.client.weight_decay = 1e-3;
    cfg.client.prox_mu = 0.01;
    net = model::make_network(cfg.model, data::Shape{1, 1, 12}, 3);
    net->reserve(cfg.client.batch_size);
    Rng rng(5, Purpose::kBench);
    x.resize(static_cast<std::size_t>(n) * 12);
    y.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      y[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(rng.below(3));
      for (int j = 0; j < 12; ++j)
        x[static_cast<std::size_t>(i) * 12 + static_cast<std::size_t>(j)] =
            static_cast<float>(rng.normal() + (j % 3 == y[static_cast<std::size_t>(i)] ? 1.5 : 0.0));
    }
    global.resize(net->layout().size());
    net->init(global, rng);
  }
  data::ExampleView view() const { return {x.data(), y.data(), static_cast<std::int64_t>(y.size())}; }

  /// Cosine between the updates a - global and b - global.
  double update_cosine(const std::vector<float>& a, const std::vector<float>& b) const {
    double dot = 0, a2 = 0, b2 = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double u = a[i] - global[i], v = b[i] - global[i];
      dot += u * v;
      a2 += u * u;
      b2 += v * v;
    }
    return dot / std::sqrt(a2 * b2);
  }

  /// Trains one client with `store` and returns the model the server receives.
  std::vector<float> train(std::unique_ptr<train::ParamStore> store, train::LocalResult* res = nullptr,
                           train::ClientStreams* used = nullptr) {
    train::SgdTrainer t(cfg.client, *net, std::move(store));
    t.begin_round(0, global);
    train::ClientStreams own(cfg.run.seed, 0, 0);
    train::ClientStreams& streams = used ? *used : own;
    const auto r = t.train(view(), streams);
    if (res) *res = r;
    const fl::ClientUpload up = t.upload();
    EXPECT_EQ(up.before.data(), global.data()) << "the update is against the server model";
    return {up.after.begin(), up.after.end()};
  }
};

}  // namespace

TEST(Train, EncodedFp32PassthroughMatchesFp32StoreBitwise) {
  Fixture f;
  const auto plain = f.train(std::make_unique<train::Fp32Store>(f.net->layout()));
  compress::StorageSpec spec;  // kFp32 passthrough, decoded per variable on demand
  const auto encoded = f.train(std::make_unique<train::EncodedStore>(f.cfg, f.net->layout(), spec));
  ASSERT_EQ(plain.size(), encoded.size());
  EXPECT_EQ(0, std::memcmp(plain.data(), encoded.data(), plain.size() * sizeof(float)));
  EXPECT_NE(plain, f.global) << "training must move the model";
}

TEST(Train, Int8StorageTrainsCloseToFp32AndLowersLoss) {
  Fixture f;
  f.cfg.client.epochs = 5;
  train::LocalResult fp, q;
  const auto plain = f.train(std::make_unique<train::Fp32Store>(f.net->layout()), &fp);
  f.cfg.storage.codec = compress::StorageSpec::Codec::kInt;
  f.cfg.storage.bits = 8;
  f.cfg.storage.pvt = true;
  const auto quant = f.train(train::make_param_store(f.cfg, f.net->layout()), &q);
  // Same data and steps: the int8 client's training loss tracks the fp32 one.
  EXPECT_NEAR(q.loss_sum / q.examples_seen, fp.loss_sum / fp.examples_seen, 0.1);
  // ...and its update points the same way as the fp32 client's.
  EXPECT_GT(f.update_cosine(plain, quant), 0.9);
}

TEST(Train, StochasticStorageDrawsFromItsOwnStreamSoBatchesArePaired) {
  // An fp32 client and an int8 client with stochastic re-encoding draw their
  // minibatch order identically: after training, both order streams are in
  // the same state, and only the int8 client used its rounding stream.
  Fixture f;
  train::ClientStreams plain(f.cfg.run.seed, 3, 7), quant(f.cfg.run.seed, 3, 7);
  f.train(std::make_unique<train::Fp32Store>(f.net->layout()), nullptr, &plain);
  f.cfg.storage.codec = compress::StorageSpec::Codec::kInt;
  f.cfg.storage.bits = 8;
  f.cfg.storage.rounding = compress::Rounding::kStochastic;
  f.train(train::make_param_store(f.cfg, f.net->layout()), nullptr, &quant);
  EXPECT_EQ(plain.order.next(), quant.order.next());
  EXPECT_NE(plain.rounding.next(), quant.rounding.next());
}

TEST(Train, TilesNarrowerThanARowStillDecodeWholeRows) {
  // decode_tile = 8 is narrower than a 12-wide weight row: a tile is one row.
  Fixture f;
  f.cfg.storage.codec = compress::StorageSpec::Codec::kInt;
  f.cfg.storage.bits = 8;
  f.cfg.storage.decode_tile = 8;
  train::LocalResult tiled, whole;
  const auto a = f.train(train::make_param_store(f.cfg, f.net->layout()), &tiled);
  f.cfg.storage.decode_tile = 0;
  const auto b = f.train(train::make_param_store(f.cfg, f.net->layout()), &whole);
  // Row tiles change the forward GEMM's float summation (not bitwise), but
  // the step is the same step: same loss, and the same update direction.
  EXPECT_NEAR(tiled.loss_sum / tiled.examples_seen, whole.loss_sum / whole.examples_seen, 0.05);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_GT(f.update_cosine(a, b), 0.95);
}

TEST(Train, EncodedStoreReportsADivergedClientTheQuantizerWouldHide) {
  Fixture f;
  f.cfg.storage.codec = compress::StorageSpec::Codec::kInt;
  f.cfg.storage.bits = 8;
  f.cfg.client.lr = 1e30;  // the first step overflows to inf, the next to NaN
  train::LocalResult res;
  const auto out = f.train(train::make_param_store(f.cfg, f.net->layout()), &res);
  EXPECT_TRUE(res.diverged);
  f.cfg.client.lr = 0.05;
  train::LocalResult ok;
  f.train(train::make_param_store(f.cfg, f.net->layout()), &ok);
  EXPECT_FALSE(ok.diverged);
}

TEST(Train, MemoryModelCountsStorageAndTransient) {
  Fixture f;
  train::SgdTrainer plain(f.cfg.client, *f.net, std::make_unique<train::Fp32Store>(f.net->layout()));
  plain.begin_round(0, f.global);
  const auto P = f.net->layout().size();
  const auto m = plain.peak_memory(40);
  EXPECT_EQ(m.params, 4 * P);
  EXPECT_EQ(m.decoded, 0u);
  EXPECT_EQ(m.gradients, 4 * P);
  EXPECT_EQ(m.optimizer, 8 * P);  // momentum + FedProx anchor
  EXPECT_EQ(m.activations, 8 * (f.net->activation_bytes() + 4 * 12 + 4 * 3) + f.net->workspace_bytes());

  f.cfg.storage.codec = compress::StorageSpec::Codec::kInt;
  f.cfg.storage.bits = 4;
  train::SgdTrainer q(f.cfg.client, *f.net, train::make_param_store(f.cfg, f.net->layout()));
  q.begin_round(0, f.global);
  const auto mq = q.peak_memory(40);
  EXPECT_LT(mq.params, P);  // 4 bits + per-variable scalars
  // Transient + FedProx anchor tiles, the codec kernels' block scratch and
  // the stochastic re-encoding's stream state (none with nearest rounding).
  ASSERT_EQ(f.cfg.storage.rounding, compress::Rounding::kStochastic);
  EXPECT_EQ(mq.decoded, 2 * 4 * f.net->layout().max_var_size() + compress::kCodecScratchBytes + sizeof(UniformStream));
  RunConfig nearest = f.cfg;
  nearest.storage.rounding = compress::Rounding::kNearest;
  train::SgdTrainer qn(nearest.client, *f.net, train::make_param_store(nearest, f.net->layout()));
  qn.begin_round(0, f.global);
  EXPECT_EQ(qn.peak_memory(40).decoded, 2 * 4 * f.net->layout().max_var_size() + compress::kCodecScratchBytes);
  EXPECT_EQ(q.downlink_bytes(), static_cast<std::int64_t>(mq.params));
  // Without a delta uplink nothing is kept for the update.
  EXPECT_EQ(m.received + m.workspace + mq.received + mq.workspace, 0u);
  EXPECT_EQ(mq.total(), mq.params + mq.decoded + mq.activations + mq.gradients + mq.optimizer);
}

TEST(Train, MemoryModelOfADeltaUplinkCountsTheReceivedModelAndTheUpdate) {
  // An uplink codec encodes after - before: the client keeps the received
  // model (its stored form) through training and builds the fp32 update.
  Fixture f;
  const auto P = f.net->layout().size();
  f.cfg.client.prox_mu = 0.0;
  train::SgdTrainer plain(f.cfg.client, *f.net, std::make_unique<train::Fp32Store>(f.net->layout()), true);
  plain.begin_round(0, f.global);
  const auto m = plain.peak_memory(40);
  EXPECT_EQ(m.received, 4 * P);
  EXPECT_EQ(m.workspace, 4 * P);
  EXPECT_EQ(m.optimizer, 4 * P);  // momentum only
  EXPECT_EQ(m.total(), m.params + m.decoded + m.activations + m.gradients + m.optimizer + 8 * P);

  f.cfg.storage.codec = compress::StorageSpec::Codec::kInt;
  f.cfg.storage.bits = 8;
  f.cfg.storage.uplink = UplinkFormat::kFp32;
  auto store = train::make_param_store(f.cfg, f.net->layout());
  train::SgdTrainer q(f.cfg.client, *f.net, std::move(store), true);
  q.begin_round(0, f.global);
  const auto mq = q.peak_memory(40);
  EXPECT_EQ(mq.received, static_cast<std::uint64_t>(q.downlink_bytes()));  // the encoded broadcast
  EXPECT_EQ(mq.workspace, 4 * P);
  // FedProx already holds the received model as its anchor: counted once.
  f.cfg.client.prox_mu = 0.01;
  train::SgdTrainer prox(f.cfg.client, *f.net, train::make_param_store(f.cfg, f.net->layout()), true);
  prox.begin_round(0, f.global);
  const auto mp = prox.peak_memory(40);
  EXPECT_EQ(mp.received, 0u);
  EXPECT_EQ(mp.optimizer, 4 * P + static_cast<std::uint64_t>(prox.downlink_bytes()));
  // make_trainer sets it from uplink.codec.
  f.cfg.uplink.codec.kind = compress::UpdateCodecKind::kTopK;
  const auto t = train::make_trainer(f.cfg, *f.net, train::make_param_store(f.cfg, f.net->layout()));
  t->begin_round(0, f.global);
  EXPECT_EQ(t->peak_memory(40).workspace, 4 * P);
}

TEST(Train, PpqRowBlocksTrainAndTheMemoryModelIsTheEncodedSize) {
  // Int8 + WMOQ + PVT + PPQ at row granularity on the MLP 12-24-3: fc1 rows of
  // 12 go in blocks of 2 rows (24 elements), fc2 rows of 24 one by one.
  Fixture f;
  f.cfg.client.epochs = 5;
  f.cfg.client.prox_mu = 0.0;
  train::LocalResult fp, q;
  const auto plain = f.train(std::make_unique<train::Fp32Store>(f.net->layout()), &fp);
  f.cfg.storage.codec = compress::StorageSpec::Codec::kInt;
  f.cfg.storage.bits = 8;
  f.cfg.storage.weights_only = true;
  f.cfg.storage.pvt = true;
  f.cfg.storage.fp32_fraction = 0.3;
  const auto& layout = f.net->layout();
  auto store = std::make_unique<train::EncodedStore>(f.cfg, layout, f.cfg.storage);
  const train::EncodedStore* raw = store.get();
  train::SgdTrainer t(f.cfg.client, *f.net, std::move(store));
  t.begin_round(0, f.global);
  train::ClientStreams streams(f.cfg.run.seed, 0, 0);
  q = t.train(f.view(), streams);
  const std::vector<float> quant(t.upload().after.begin(), t.upload().after.end());
  EXPECT_NEAR(q.loss_sum / q.examples_seen, fp.loss_sum / fp.examples_seen, 0.1);
  EXPECT_GT(f.update_cosine(plain, quant), 0.9);
  // The round's fp32 share: at most rho, short by less than one block.
  const double frac = raw->fp32_weight_fraction();
  EXPECT_LE(frac, 0.3);
  EXPECT_GT(frac, 0.3 - 24.0 / 360.0);
  // Stored bytes = the exact encoded size: per weight variable 16 bytes of
  // scalars + its codes + 4 bytes per fp32 element, biases fp32.
  std::size_t fp32_weights = 0, codes = 0, want = 0;
  compress::EncodedParams probe(layout, f.cfg.storage);
  Rng ppq(f.cfg.run.seed, Purpose::kStorage, 0, 0);  // round 0's selection stream
  probe.set_fp32_blocks(compress::select_fp32_blocks(probe.ppq_blocks(), 0.3, ppq));
  for (std::size_t i = 0; i < layout.num_vars(); ++i) {
    const auto& v = layout.var(i);
    if (!v.is_weight()) {
      want += 4 * v.size;
      continue;
    }
    const std::size_t nq = probe.quantized_count(i);
    codes += nq;
    fp32_weights += v.size - nq;
    want += nq == 0 ? 4 * v.size : 16 + nq + 4 * (v.size - nq);
  }
  EXPECT_EQ(raw->stored_bytes(), want);
  EXPECT_EQ(static_cast<double>(fp32_weights) / 360.0, frac);
  EXPECT_EQ(raw->downlink_bytes(), static_cast<std::int64_t>(want));
  EXPECT_EQ(raw->uplink_bytes(), static_cast<std::int64_t>(want));
  EXPECT_GT(codes, 0u);
}
