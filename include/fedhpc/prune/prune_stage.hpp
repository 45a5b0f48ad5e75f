#pragma once
/// The server side of pruning (METHODS.md §2), a server stage:
///   start       initial mask (ERK random at 1 - s_0 for FedDIP and magnitude;
///               SNIP and random masks are set before) and, in code mode, the
///               initial model zeroed where pruned;
///   after_step  code mode: the averaged model is zeroed where pruned; every
///               `interval` rounds (round % interval == 0, as the authors'
///               code) FedDIP and magnitude recompute the mask by global
///               magnitude of the conv and linear weights at the schedule's
///               s_t (code: of the zeroed model, so nothing regrows;
///               dpf_server: of the dense model, so weights regrow);
///   publish     dpf_server: clients and the test set see w ⊙ m.
/// Series: /rounds/density (kept fraction of all parameters),
/// /rounds/weight_sparsity, /rounds/lambda, /prune/layer_density/<variable>;
/// /model/mask with every snapshot; the mask is checkpointed as "mask".
#include <memory>
#include <vector>

#include "fedhpc/fl/server_stage.hpp"
#include "fedhpc/prune/prune_state.hpp"

namespace fedhpc::prune {

/// Mask schedule and re-pruning on the server.
class PruneStage final : public fl::ServerStage {
 public:
  /// dynamic: re-prunes on the schedule (FedDIP, magnitude); else the mask is fixed.
  PruneStage(std::shared_ptr<PruneState> state, bool dynamic, std::uint64_t seed);
  void start(std::span<float> model) override;
  void after_step(int round, std::span<float> model) override;
  bool publish(std::span<const float> model, std::span<float> out) const override;
  void declare(fl::Metrics& m, fl::TallyLayout& t) override;
  void record_round(const fl::RoundTally& t, fl::Metrics& m) const override;
  void save(fl::NamedState& s) const override;
  void load(const fl::NamedState& s) override;
  void snapshot(fl::Metrics& m) const override;

 private:
  std::shared_ptr<PruneState> state_;
  bool dynamic_;
  std::uint64_t seed_;
  fl::Metrics::Id density_ = 0, sparsity_ = 0, lambda_ = 0, mask_ = 0;
  std::vector<std::pair<std::size_t, fl::Metrics::Id>> layer_;  // (weight variable, series)
};

}  // namespace fedhpc::prune
