#pragma once
/// Where a client keeps its parameters during local training: plain fp32, or
/// encoded (OMC) and decoded one variable at a time. One instance per rank.
#include <cstdint>
#include <memory>
#include <span>

#include "fedhpc/core/aligned_allocator.hpp"
#include "fedhpc/compress/param_codec.hpp"
#include "fedhpc/config/run_config.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/model/param_layout.hpp"
#include "fedhpc/model/param_source.hpp"
#include "fedhpc/train/sgd_update.hpp"

namespace fedhpc::train {

/// A client's parameter storage.
class ParamStore {
 public:
  virtual ~ParamStore() = default;
  /// Prepares the round's downlink from the server model (once per round).
  virtual void begin_round(int round, std::span<const float> global) = 0;
  /// Starts a client from the round's downlink.
  virtual void start_client() = 0;
  /// The client's current parameters, for forward and backward.
  virtual model::ParamSource& source() = 0;
  /// One optimizer step from the full gradient; `rng` is the client's stream
  /// (stochastic rounding when re-encoding). The gradient is consumed: a
  /// store may overwrite `grads` (EncodedStore keeps a variable's updated
  /// values in its gradient slot between its two passes).
  virtual void step(std::span<float> grads, std::span<float> velocity, const SgdHyper& h,
                    Rng& rng) = 0;
  /// The client's parameters as the server receives them (decoded), into out (P).
  virtual void finish_client(std::span<float> out) = 0;
  /// Which copy kept_value_bytes measures.
  enum class Copy { kDownlink, kUplink, kStored };
  /// Bytes of only the kept values of each variable (kept_per_var, layout
  /// order) in the form of `copy`: what a pruned model's values cost.
  virtual std::int64_t kept_value_bytes(std::span<const std::size_t> kept_per_var, Copy copy) const = 0;
  /// True if the last client's step met a non-finite value that its stored
  /// form cannot carry (encoded storage), so the client has diverged.
  virtual bool diverged() const { return false; }
  /// Per parameter, 1 where the client may change it (a pruning mask), or
  /// empty: every parameter.
  virtual std::span<const std::uint8_t> active() const { return {}; }
  /// Bytes of the downlink message per client.
  virtual std::int64_t downlink_bytes() const = 0;
  /// Bytes of the uplink message per client.
  virtual std::int64_t uplink_bytes() const = 0;
  /// Bytes of the stored parameters on the device.
  virtual std::uint64_t stored_bytes() const = 0;
  /// Bytes of transient decoded buffers held at the peak.
  virtual std::uint64_t transient_bytes() const = 0;
  /// Bytes of a copy of the received model in its stored form: the proximal
  /// anchor (prox_mu > 0), or what a delta update is formed against.
  virtual std::uint64_t anchor_bytes() const = 0;
  /// Fraction of weight parameters the round's downlink holds in fp32 (PPQ;
  /// 1 for fp32 storage).
  virtual double fp32_weight_fraction() const { return 1.0; }
};

/// Plain fp32 parameters: one resident working copy per rank.
class Fp32Store final : public ParamStore {
 public:
  explicit Fp32Store(const model::ParamLayout& layout);
  void begin_round(int round, std::span<const float> global) override;
  void start_client() override;
  model::ParamSource& source() override { return source_; }
  void step(std::span<float> grads, std::span<float> velocity, const SgdHyper& h,
            Rng& rng) override;
  void finish_client(std::span<float> out) override;
  std::int64_t downlink_bytes() const override { return static_cast<std::int64_t>(4 * w_.size()); }
  std::int64_t uplink_bytes() const override { return downlink_bytes(); }
  std::uint64_t stored_bytes() const override { return 4 * w_.size(); }
  std::uint64_t transient_bytes() const override { return 0; }
  std::uint64_t anchor_bytes() const override { return 4 * w_.size(); }
  std::int64_t kept_value_bytes(std::span<const std::size_t> kept_per_var, Copy) const override;

 private:
  std::span<const float> global_;
  AlignedVector<float> w_;  // (P) working parameters, 64-byte aligned for the kernels
  model::FlatParams source_;
};

/// Builds the store for cfg ([storage] section) on `layout`, keyed by run.seed.
std::unique_ptr<ParamStore> make_param_store(const RunConfig& cfg, const model::ParamLayout& layout);

}  // namespace fedhpc::train
