#include "fedhpc/prune/masked_store.hpp"

#include <algorithm>
#include <cmath>

#include "fedhpc/prune/schedule.hpp"

namespace fedhpc::prune {

MaskedStore::MaskedStore(std::unique_ptr<train::ParamStore> inner, std::shared_ptr<PruneState> state,
                         Update update, bool dense_upload)
    : inner_(std::move(inner)),
      state_(std::move(state)),
      layout_(&state_->mask.layout()),
      update_(update),
      dense_upload_(dense_upload),
      theta_(layout_->size()),
      grads_(layout_->size()),
      cached_(inner_->source().tile_elements() >= layout_->max_var_size()) {}

void MaskedStore::start_client() {
  inner_->start_client();
  refresh_theta();
}

void MaskedStore::refresh_theta() {
  if (!cached_) return;
  model::ParamSource& src = inner_->source();
  for (std::size_t i = 0; i < layout_->num_vars(); ++i) {
    if (!masked(i)) continue;
    const auto& v = layout_->var(i);
    const model::ScopedRange r(src, i, 0, v.size);
    state_->mask.apply(std::span<const float>(r.data(), v.size),
                       std::span<float>(theta_).subspan(v.offset, v.size), v.offset);
  }
}

void MaskedStore::begin_round(int round, std::span<const float> global) {
  lr_factor_ = lr_factor(state_->cfg, round);
  state_->lambda = update_ == Update::kDense ? lambda_at(state_->cfg, round, state_->rounds) : 0.0;
  inner_->begin_round(round, global);
}

bool MaskedStore::masked(std::size_t i) const {
  return state_->mask.kept_in(i) != layout_->var(i).size;
}

std::span<const float> MaskedStore::acquire(std::size_t i) {
  return acquire_range(i, 0, layout_->var(i).size);
}

std::span<const float> MaskedStore::acquire_range(std::size_t i, std::size_t begin, std::size_t count) {
  const auto src = inner_->source().acquire_range(i, begin, count);
  if (!masked(i)) return src;
  if (cached_) return std::span<const float>(theta_).subspan(layout_->var(i).offset + begin, count);
  const std::span<float> out = std::span<float>(theta_).subspan(layout_->var(i).offset + begin, count);
  state_->mask.apply(src, out, layout_->var(i).offset + begin);
  return out;
}

void MaskedStore::add_regularizer(std::span<float> g) {
  const double lambda = state_->lambda;
  if (lambda <= 0.0) return;
  model::ParamSource& src = *this;
  const std::size_t tile = std::min(src.tile_elements(), layout_->max_var_size());
  for (std::size_t i = 0; i < layout_->num_vars(); ++i) {
    const auto& v = layout_->var(i);
    if (!v.is_weight()) continue;
    if (cached_) {  // theta of this variable, already masked, in one buffer
      const model::ScopedRange r(src, i, 0, v.size);
      const float* t = r.data();
      double sq = 0.0;
      for (std::size_t j = 0; j < v.size; ++j) sq += static_cast<double>(t[j]) * t[j];
      if (sq <= 0.0) continue;
      const double f = lambda / std::sqrt(sq);
      float* gv = g.data() + v.offset;
      for (std::size_t j = 0; j < v.size; ++j) gv[j] += static_cast<float>(f * t[j]);
      continue;
    }
    // ||theta_l||_2 (not squared); its gradient is theta_l / ||theta_l||.
    double sq = 0.0;
    for (std::size_t b = 0; b < v.size; b += tile) {
      const std::size_t c = std::min(tile, v.size - b);
      const model::ScopedRange r(src, i, b, c);
      for (std::size_t j = 0; j < c; ++j) sq += static_cast<double>(r.data()[j]) * r.data()[j];
    }
    if (sq <= 0.0) continue;
    const double f = lambda / std::sqrt(sq);
    for (std::size_t b = 0; b < v.size; b += tile) {
      const std::size_t c = std::min(tile, v.size - b);
      const model::ScopedRange r(src, i, b, c);
      float* gv = g.data() + v.offset + b;
      for (std::size_t j = 0; j < c; ++j) gv[j] += static_cast<float>(f * r.data()[j]);
    }
  }
}

void MaskedStore::step(std::span<float> grads, std::span<float> velocity,
                       const train::SgdHyper& h, Rng& rng) {
  train::SgdHyper hr = h;
  hr.lr = static_cast<float>(static_cast<double>(h.lr) * lr_factor_);
  if (update_ == Update::kDense && state_->lambda <= 0.0) {
    inner_->step(grads, velocity, hr, rng);  // FedDIP without regularization: the gradient as is
  } else {
    std::copy(grads.begin(), grads.end(), grads_.begin());
    if (update_ == Update::kFrozen) state_->mask.apply(grads_);
    add_regularizer(grads_);
    inner_->step(grads_, velocity, hr, rng);
  }
  refresh_theta();
}

void MaskedStore::finish_client(std::span<float> out) {
  inner_->finish_client(out);
  if (!dense_upload_) state_->mask.apply(out);
}

std::int64_t MaskedStore::downlink_bytes() const {
  const Mask& m = state_->mask;
  if (m.kept_total() == m.size()) return inner_->downlink_bytes();
  return static_cast<std::int64_t>(m.support_bytes()) + inner_->kept_value_bytes(m.kept_per_var(), Copy::kDownlink);
}

std::int64_t MaskedStore::uplink_bytes() const {
  const Mask& m = state_->mask;
  if (dense_upload_ || m.kept_total() == m.size()) return inner_->uplink_bytes();
  return inner_->kept_value_bytes(m.kept_per_var(), Copy::kUplink);
}

std::uint64_t MaskedStore::stored_bytes() const {
  const Mask& m = state_->mask;
  // FedDIP keeps the dense w; without feedback only the kept values live.
  const std::uint64_t values = update_ == Update::kDense
                                   ? inner_->stored_bytes()
                                   : static_cast<std::uint64_t>(inner_->kept_value_bytes(m.kept_per_var(), Copy::kStored));
  return values + m.support_bytes();
}

std::uint64_t MaskedStore::transient_bytes() const {
  // One variable's masked copy (a device would mask inside the kernel; counted anyway).
  return inner_->transient_bytes() + 4ull * std::min(inner_->source().tile_elements(), layout_->max_var_size());
}

std::span<const std::uint8_t> MaskedStore::active() const { return state_->mask.flags(); }

}  // namespace fedhpc::prune
