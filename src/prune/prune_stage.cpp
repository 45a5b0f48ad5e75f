#include "fedhpc/prune/prune_stage.hpp"

#include "fedhpc/core/error.hpp"
#include "fedhpc/prune/schedule.hpp"

namespace fedhpc::prune {

PruneStage::PruneStage(std::shared_ptr<PruneState> state, bool dynamic, std::uint64_t seed)
    : state_(std::move(state)), dynamic_(dynamic), seed_(seed) {}

void PruneStage::start(std::span<float> model) {
  if (dynamic_) {
    Rng rng(seed_, Purpose::kPrune, 0, 0);
    state_->mask.set_erk_random(1.0 - state_->cfg.initial_sparsity, rng);
  }
  if (state_->cfg.mode == PruneMode::kCode) state_->mask.apply(model);
}

void PruneStage::after_step(int round, std::span<float> model) {
  const bool code = state_->cfg.mode == PruneMode::kCode;
  if (code) state_->mask.apply(model);
  if (dynamic_ && round % state_->cfg.interval == 0) {
    const double density = 1.0 - sparsity_at(state_->cfg, round, state_->rounds);
    if (state_->cfg.scope == PruneScope::kErk) state_->mask.keep_largest_erk(model, density);
    else state_->mask.keep_largest(model, density);
    if (code) state_->mask.apply(model);
  }
}

bool PruneStage::publish(std::span<const float> model, std::span<float> out) const {
  if (state_->cfg.mode != PruneMode::kDpfServer) return false;
  state_->mask.apply(model, out);
  return true;
}

void PruneStage::declare(fl::Metrics& m, fl::TallyLayout&) {
  density_ = m.declare("/rounds/density", fl::Axis::kRound, false);
  sparsity_ = m.declare("/rounds/weight_sparsity", fl::Axis::kRound, false);
  lambda_ = m.declare("/rounds/lambda", fl::Axis::kRound, false);
  const auto& layout = state_->mask.layout();
  for (std::size_t i = 0; i < layout.num_vars(); ++i)
    if (layout.var(i).is_weight())
      layer_.emplace_back(i, m.declare("/prune/layer_density/" + layout.var(i).name, fl::Axis::kRound, false));
  mask_ = m.declare_snapshot("/model/mask");
}

void PruneStage::record_round(const fl::RoundTally&, fl::Metrics& m) const {
  m.set_real(density_, state_->mask.density());
  m.set_real(sparsity_, state_->mask.weight_sparsity());
  m.set_real(lambda_, state_->lambda);
  for (const auto& [var, id] : layer_) m.set_real(id, state_->mask.density_of(var));
}

void PruneStage::save(fl::NamedState& s) const {
  const auto f = state_->mask.flags();
  std::vector<float> v(f.begin(), f.end());
  s.put("mask", v);
}

void PruneStage::load(const fl::NamedState& s) {
  const auto* v = s.find("mask");
  if (v == nullptr || v->size() != state_->mask.size())
    throw ConfigError("run.checkpoint", "holds no pruning mask of this model's size");
  std::vector<std::uint8_t> f(v->size());
  for (std::size_t j = 0; j < f.size(); ++j) f[j] = (*v)[j] != 0.0f ? 1 : 0;
  state_->mask.set_flags(f);
}

void PruneStage::snapshot(fl::Metrics& m) const {
  const auto f = state_->mask.flags();
  m.snapshot_values(mask_).assign(f.begin(), f.end());
}

}  // namespace fedhpc::prune
