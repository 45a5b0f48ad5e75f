#pragma once
/// A client's parameters under a pruning mask (METHODS.md §2), around any
/// parameter store (fp32 or OMC-encoded):
///   - forward and backward read theta = w ⊙ m (pruned weights read as 0);
///   - FedDIP (Update::kDense): the gradient at theta, plus lambda_t times the
///     gradient of sum_l ||theta_l||_2 over the prunable variables, updates the
///     dense w (pruned coordinates keep moving: the error feedback);
///   - without feedback (Update::kFrozen): the gradient is masked, so pruned
///     weights (received as 0) stay 0;
///   - the learning rate is lr * lr_decay^round;
///   - the upload is theta (code mode: values at the mask only) or the dense
///     w (dpf_server mode);
///   - bytes: downlink = support + kept values in the inner store's form;
///     uplink = kept values only (the server holds the mask it sent), or the
///     inner store's dense message in dpf_server mode.
/// Memory model: a FedDIP client holds its dense w (the inner store) plus the
/// mask's support; a client without feedback holds the kept values plus the
/// support (docs/memory.md).
#include <memory>
#include <vector>

#include "fedhpc/prune/prune_state.hpp"
#include "fedhpc/train/param_store.hpp"

namespace fedhpc::prune {

/// Mask decorator of a ParamStore.
class MaskedStore final : public train::ParamStore, private model::ParamSource {
 public:
  enum class Update { kDense, kFrozen };
  MaskedStore(std::unique_ptr<train::ParamStore> inner, std::shared_ptr<PruneState> state,
              Update update, bool dense_upload);
  void begin_round(int round, std::span<const float> global) override;
  void start_client() override;
  model::ParamSource& source() override { return *this; }
  void step(std::span<float> grads, std::span<float> velocity, const train::SgdHyper& h,
            Rng& rng) override;
  void finish_client(std::span<float> out) override;
  std::int64_t downlink_bytes() const override;
  std::int64_t uplink_bytes() const override;
  std::uint64_t stored_bytes() const override;
  std::uint64_t transient_bytes() const override;
  std::uint64_t anchor_bytes() const override { return inner_->anchor_bytes(); }
  double fp32_weight_fraction() const override { return inner_->fp32_weight_fraction(); }
  std::int64_t kept_value_bytes(std::span<const std::size_t> kept_per_var, Copy copy) const override {
    return inner_->kept_value_bytes(kept_per_var, copy);
  }
  bool diverged() const override { return inner_->diverged(); }
  std::span<const std::uint8_t> active() const override;

 private:
  std::span<const float> acquire(std::size_t i) override;
  std::span<const float> acquire_range(std::size_t i, std::size_t begin, std::size_t count) override;
  void release(std::size_t i) noexcept override { inner_->source().release(i); }
  std::size_t tile_elements() const override { return inner_->source().tile_elements(); }
  /// True if variable i has pruned entries (else it passes through).
  bool masked(std::size_t i) const;
  /// Adds lambda * theta_l / ||theta_l|| to g for every prunable variable.
  void add_regularizer(std::span<float> g);
  /// Whole-variable inner source (fp32): theta is kept up to date after each
  /// step, so acquiring is free; else masked per acquired range.
  void refresh_theta();

  std::unique_ptr<train::ParamStore> inner_;
  std::shared_ptr<PruneState> state_;
  const model::ParamLayout* layout_;
  Update update_;
  bool dense_upload_;
  double lr_factor_ = 1.0;
  std::vector<float> theta_;  // (P) masked copies of acquired ranges
  std::vector<float> grads_;  // (P) the gradient the inner store applies
  bool cached_ = false;       // theta_ holds the current masked variables (whole-variable source)
};

}  // namespace fedhpc::prune
