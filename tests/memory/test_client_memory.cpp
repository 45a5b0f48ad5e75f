// Client memory models against measured allocations: this binary replaces the
// global operator new/delete with counting versions, so a test sees every
// heap byte a client's code path allocates (std::vector and friends).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "fedhpc/model/network.hpp"
#include "fedhpc/prune/pruning.hpp"
#include "fedhpc/train/local_trainer.hpp"
#include "fedhpc/train/param_store.hpp"
#include "fedhpc/train/zo_trainer.hpp"

namespace {
std::atomic<long long> g_live{0}, g_calls{0};
constexpr std::size_t kHeader = 16;  // keeps the default new alignment
}  // namespace

void* operator new(std::size_t n) {
  auto* p = static_cast<unsigned char*>(std::malloc(n + kHeader));
  if (p == nullptr) throw std::bad_alloc();
  *reinterpret_cast<std::size_t*>(p) = n;
  g_live += static_cast<long long>(n);
  ++g_calls;
  return p + kHeader;
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* q) noexcept {
  if (q == nullptr) return;
  auto* p = static_cast<unsigned char*>(q) - kHeader;
  g_live -= static_cast<long long>(*reinterpret_cast<std::size_t*>(p));
  std::free(p);
}
void operator delete[](void* q) noexcept { operator delete(q); }
void operator delete(void* q, std::size_t) noexcept { operator delete(q); }
void operator delete[](void* q, std::size_t) noexcept { operator delete(q); }
// Over-aligned allocations (AlignedVector's 64-byte buffers) are counted too:
// the header is one alignment unit, so the block stays aligned.
void* operator new(std::size_t n, std::align_val_t a) {
  const std::size_t h = std::max(kHeader, static_cast<std::size_t>(a));
  auto* p = static_cast<unsigned char*>(std::aligned_alloc(static_cast<std::size_t>(a), (n + 2 * h - 1) / h * h));
  if (p == nullptr) throw std::bad_alloc();
  *reinterpret_cast<std::size_t*>(p + h - sizeof(std::size_t)) = n;
  g_live += static_cast<long long>(n);
  ++g_calls;
  return p + h;
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* q, std::align_val_t a) noexcept {
  if (q == nullptr) return;
  const std::size_t h = std::max(kHeader, static_cast<std::size_t>(a));
  auto* p = static_cast<unsigned char*>(q) - h;
  g_live -= static_cast<long long>(*reinterpret_cast<std::size_t*>(p + h - sizeof(std::size_t)));
  std::free(p);
}
void operator delete[](void* q, std::align_val_t a) noexcept { operator delete(q, a); }
void operator delete(void* q, std::size_t, std::align_val_t a) noexcept { operator delete(q, a); }
void operator delete[](void* q, std::size_t, std::align_val_t a) noexcept { operator delete(q, a); }

using namespace fedhpc;

namespace {

/// Heap bytes and allocation calls between construction and now.
struct Meter {
  long long live0 = g_live.load(), calls0 = g_calls.load();
  long long bytes() const { return g_live.load() - live0; }
  long long calls() const { return g_calls.load() - calls0; }
};

struct Client {
  std::vector<float> x;
  std::vector<std::int32_t> y;
};

Client client(int n, int d) {
  Client c{std::vector<float>(static_cast<std::size_t>(n) * d), std::vector<std::int32_t>(static_cast<std::size_t>(n))};
  Rng rng(3, Purpose::kBench);
  for (auto& v : c.x) v = static_cast<float>(rng.normal());
  for (auto& v : c.y) v = static_cast<std::int32_t>(rng.below(10));
  return c;
}

/// LeNet-5 under a random mask at `density`, trained by `trainer`.
RunConfig lenet(ClientTrainer trainer, double density) {
  RunConfig cfg;
  cfg.model.arch = Arch::kLeNet5;
  cfg.client.trainer = trainer;
  cfg.client.batch_size = 16;
  cfg.zo.directions = 20;
  cfg.zo.batch = 1;  // inference one example at a time
  if (density < 1.0) {
    cfg.prune.method = PruneMethod::kRandom;
    cfg.prune.sparsity = 1.0 - density;
  }
  return cfg;
}

struct Built {
  std::unique_ptr<model::Network> net;
  std::unique_ptr<prune::Pruning> pruning;
  std::unique_ptr<train::LocalTrainer> trainer;
  long long net_bytes = 0;  // measured: the network's buffers for its batch
};

Built build(const RunConfig& cfg, int batch) {
  Built b;
  b.net = model::make_network(cfg.model, data::Shape{1, 28, 28}, 10);
  {
    const Meter m;
    b.net->reserve(batch);
    b.net_bytes = m.bytes();
  }
  b.pruning = prune::make_pruning(cfg, *b.net);
  std::unique_ptr<train::ParamStore> store = train::make_param_store(cfg, b.net->layout());
  if (b.pruning) {
    Rng mr(2, Purpose::kPrune);
    b.pruning->state->mask.set_random(1.0 - cfg.prune.sparsity, mr);
    store = b.pruning->wrap(std::move(store));
  }
  b.trainer = train::make_trainer(cfg, *b.net, std::move(store));
  return b;
}

TEST(ClientMemory, MaskedZoClientAllocatesWhatItsModelSaysAndNothingPerClient) {
  const RunConfig cfg = lenet(ClientTrainer::kZo, 0.2);
  Built b = build(cfg, cfg.zo.batch);
  std::vector<float> global(b.net->layout().size());
  Rng init(1, Purpose::kInit);
  b.net->init(global, init);
  b.pruning->state->mask.apply(global);  // the broadcast is w ⊙ m
  b.trainer->begin_round(0, global);
  const Client c = client(60, 784);
  const data::ExampleView view{c.x.data(), c.y.data(), 60};
  // The first client sizes the client's buffers: its sparse copy of the model,
  // the decoded tile, the perturbed tile.
  long long client_bytes = 0;
  {
    const Meter m;
    train::ClientStreams r(1, 0, 0);
    b.trainer->train(view, r);
    client_bytes = m.bytes();
  }
  // Every later client and direction allocates nothing.
  {
    const Meter m;
    for (int k = 1; k < 4; ++k) {
      train::ClientStreams r(1, 0, k);
      b.trainer->train(view, r);
    }
    EXPECT_EQ(m.calls(), 0);
  }
  const MemoryBreakdown mem = b.trainer->peak_memory(60);
  const auto& mask = b.pruning->state->mask;
  // Held but not allocated by the client path: the support (the simulator
  // reads the server's mask; a device holds it as the bitmap the model
  // counts), one direction block on the stack, the K differences (allocated
  // with the trainer).
  const long long measured = b.net_bytes + client_bytes + static_cast<long long>(mask.support_bytes()) +
                             4ll * static_cast<long long>(train::kZoBlock) + 8ll * cfg.zo.directions;
  const auto modelled = static_cast<long long>(mem.total());
  std::printf("zo LeNet-5 density 0.2, batch 1: measured %lld B (network %lld, client %lld), modelled %lld B\n",
              measured, b.net_bytes, client_bytes, modelled);
  EXPECT_NEAR(static_cast<double>(measured), static_cast<double>(modelled), 0.05 * static_cast<double>(modelled));
  // The parameters part alone: kept values (+ block counts) against the model's stored values.
  EXPECT_GE(client_bytes, static_cast<long long>(4 * mask.kept_total()));
}

// Any mask of density 0.2 (the NTK mask too) costs the same memory.
TEST(ClientMemory, PrunedZoLeNet5IsFiveTimesBelowBackprop) {
  const RunConfig zc = lenet(ClientTrainer::kZo, 0.2), bc = lenet(ClientTrainer::kBackprop, 1.0);
  Built z = build(zc, zc.zo.batch), bp = build(bc, bc.client.batch_size);
  std::vector<float> w(z.net->layout().size(), 0.0f);
  z.trainer->begin_round(0, w);
  bp.trainer->begin_round(0, w);
  const std::uint64_t mz = z.trainer->peak_memory(60).total(), mb = bp.trainer->peak_memory(60).total();
  std::printf("LeNet-5 client peak: backprop (batch 16) %llu B, zo (density 0.2, batch 1) %llu B: %.2fx\n",
              static_cast<unsigned long long>(mb), static_cast<unsigned long long>(mz),
              static_cast<double>(mb) / static_cast<double>(mz));
  EXPECT_GE(static_cast<double>(mb), 5.0 * static_cast<double>(mz));
  // Measured too: the backprop client's network buffers alone exceed the zo client's whole peak.
  EXPECT_GT(bp.net_bytes, static_cast<long long>(mz) * 2);
}

}  // namespace
