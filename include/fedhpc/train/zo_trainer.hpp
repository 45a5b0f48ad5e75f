#pragma once
/// Zeroth-order (backprop-free) clients (../shared/METHODS.md §3; docs/ntk_zo.md).
///
/// zo (BAFFLE-style): at the round's model w, the client evaluates its mean
/// loss over all its examples at w and at w + sigma u_k ⊙ m for K directions
/// u_k ~ N(0, I) (central differences: also at w - sigma u_k ⊙ m), and sends
/// the K differences d_k = (L_k - L_0) / sigma (or (L_k+ - L_k-) / (2 sigma))
/// with the 8-byte seed of its directions: 4 K + 16 bytes. The server
/// regenerates the directions and forms g = (1/K) sum_k d_k u_k ⊙ m; the
/// client's contribution is the step -client.lr g with g clipped to
/// |g|_inf <= zo.clip (this trainer expands and clips it on the server's
/// behalf), and the server takes its optimizer step (BAFFLE: fedadam).
///
/// fedzo (FedZO-style): zo.local_steps steps of ZO-SGD, each on a minibatch of
/// client.batch_size with K directions (b2) and smoothing sigma (mu), through
/// the parameter store's SGD step; the upload is the model update.
///
/// Directions are generated variable by variable from the client's seed
/// (PerturbedSource), so no client holds a full perturbation vector; pruned
/// coordinates (ParamStore::active) are never perturbed and never move.
#include <algorithm>
#include <memory>
#include <vector>

#include "fedhpc/train/local_trainer.hpp"
#include "fedhpc/train/param_store.hpp"

namespace fedhpc::train {

/// Bytes a zo client sends besides its K floats: direction seed (8), K (4), samples (4).
inline constexpr std::int64_t kZoHeaderBytes = 16;

/// Directions are drawn in blocks of kZoBlock elements of a variable, block b
/// of variable i of direction k from (seed, zo, k, i << 32 | b), so any range
/// of a variable can be drawn alone.
inline constexpr std::size_t kZoBlock = 1024;
/// Elements a PerturbedSource hands out per read (rows of a dense layer) for
/// up to 16 examples per forward pass; zo_tile scales it with the pass.
inline constexpr std::size_t kZoTile = 4096;
/// The tile for `examples` per forward pass: kZoTile per 16 examples (at
/// least one), so a dense layer's tile GEMM stays wide enough to run at speed
/// while a client evaluating few examples holds a small tile.
constexpr std::size_t zo_tile(int examples) {
  return kZoTile * static_cast<std::size_t>(examples / 16 > 1 ? examples / 16 : 1);
}

/// Elements [begin, begin + out.size()) of variable `var` of direction `k`
/// (u ~ N(0, I)) drawn from `seed` into out.
void zo_direction(std::uint64_t seed, int k, std::size_t var, std::span<float> out, std::size_t begin = 0);

/// The parameters a zo client evaluates: its base parameters plus
/// sigma u_k ⊙ active, one tile (`tile` elements; whole variables for
/// readers that take them whole) at a time, with the direction drawn straight
/// into the one buffer. The base is either another source (bind) or the
/// client's sparse copy of a pruned model (pack: only the kept values, layout
/// order, found through kept counts per kZoBlock; the support is the mask),
/// decoded in the same pass. No allocation after the first client.
class PerturbedSource final : public model::ParamSource {
 public:
  PerturbedSource(const model::ParamLayout& layout, model::ParamSource& base, std::span<const std::uint8_t> active,
                  std::size_t tile = kZoTile);
  /// Reads another source under a mask (empty: all active).
  void bind(model::ParamSource& base, std::span<const std::uint8_t> active) noexcept {
    base_ = &base;
    active_ = active;
    packed_ = false;
  }
  /// Keeps only the values of `src` where `active` is 1 (the client receiving a sparse downlink).
  void pack(model::ParamSource& src, std::span<const std::uint8_t> active);
  /// Direction k of seed, scaled by `scale` (sigma, or -sigma).
  void set(std::uint64_t seed, int k, float scale) noexcept {
    seed_ = seed;
    k_ = k;
    scale_ = scale;
    perturb_ = true;
  }
  /// The base parameters themselves.
  void unperturbed() noexcept { perturb_ = false; }
  std::span<const float> acquire(std::size_t i) override { return acquire_range(i, 0, layout_->var(i).size); }
  std::span<const float> acquire_range(std::size_t i, std::size_t begin, std::size_t count) override;
  void release(std::size_t i) noexcept override {
    if (!packed_) base_->release(i);
  }
  std::size_t tile_elements() const override {
    return packed_ ? tile_ : std::min(tile_, base_->tile_elements());
  }
  /// Heap bytes held: the buffer and, packed, the kept values and block counts.
  std::uint64_t capacity_bytes() const noexcept {
    return 4ull * (out_.capacity() + values_.capacity()) + sizeof(std::size_t) * starts_.capacity();
  }

 private:
  const model::ParamLayout* layout_;
  model::ParamSource* base_;
  std::span<const std::uint8_t> active_;
  std::size_t tile_;
  bool packed_ = false, perturb_ = false;
  std::uint64_t seed_ = 0;
  int k_ = 0;
  float scale_ = 0.0f;
  std::vector<float> out_;           // the range being read (perturbed and/or decoded)
  std::vector<float> values_;        // packed: kept values in layout order
  std::vector<std::size_t> starts_;  // packed: kept values before each kZoBlock of the flat vector
};

class ZoTrainer final : public LocalTrainer {
 public:
  ZoTrainer(const RunConfig& cfg, model::Network& net, std::unique_ptr<ParamStore> store);
  void begin_round(int round, std::span<const float> global) override;
  LocalResult train(const data::ExampleView& data, ClientStreams& streams) override;
  fl::ClientUpload upload() const override;
  MemoryBreakdown peak_memory(std::int64_t num_samples) const override;
  double flops(std::int64_t num_samples) const override;
  std::int64_t downlink_bytes() const override { return store_->downlink_bytes(); }
  double fp32_weight_fraction() const override { return store_->fp32_weight_fraction(); }
  /// zo: what the last client sent: its direction seed and K differences.
  std::uint64_t seed() const noexcept { return seed_; }
  /// zo: seconds spent in the clients' forward passes so far (not in
  /// expanding their estimates, which is the server's work).
  double pass_seconds() const noexcept { return pass_seconds_; }
  std::span<const double> sent() const noexcept { return d_; }

 private:
  /// Examples per forward pass: zo.batch, or fedzo's minibatch.
  int examples_per_pass() const noexcept { return local_ ? client_.batch_size : zo_.batch; }
  /// zo under a mask reads a packed copy of the round's model (kept values
  /// only); fedzo, which updates its parameters, and dense zo read the store.
  bool reads_packed() const { return !local_ && !store_->active().empty(); }
  /// Mean loss over rows (examples_per_pass() at a time) at `params`.
  double mean_loss(model::ParamSource& params, const float* x, const std::int32_t* y, std::int64_t n);
  /// The K differences at the store's current parameters on rows [x, y, n).
  void differences(std::uint64_t seed, const float* x, const std::int32_t* y, std::int64_t n, LocalResult& res);
  /// g = (1/K) sum_k d_k u_k ⊙ active, times `scale`, into out (P).
  void expand(std::uint64_t seed, float scale, std::span<float> out);
  ClientSection client_;
  ZoSection zo_;
  bool local_;  // fedzo
  model::Network* net_;
  std::unique_ptr<ParamStore> store_;
  PerturbedSource perturbed_;      // the store's source (zo under a mask: its packed copy) plus sigma u_k
  SgdHyper hyper_;
  std::span<const float> global_;
  std::vector<double> d_;          // (K) loss differences
  std::vector<float> after_;       // (P) the expanded contribution (zo) or local model (fedzo)
  std::vector<float> grads_, velocity_, u_;
  std::vector<float> batch_x_;
  std::vector<std::int32_t> batch_y_, order_;
  std::int64_t bytes_ = 0;
  std::uint64_t seed_ = 0;
  double pass_seconds_ = 0.0;
};

}  // namespace fedhpc::train
