#include <algorithm>

#include "fedhpc/train/param_store.hpp"

namespace fedhpc::train {

Fp32Store::Fp32Store(const model::ParamLayout& layout)
    : w_(layout.size()), source_(layout, w_) {}

void Fp32Store::begin_round(int, std::span<const float> global) { global_ = global; }

void Fp32Store::start_client() { std::copy(global_.begin(), global_.end(), w_.begin()); }

void Fp32Store::step(std::span<float> grads, std::span<float> velocity, const SgdHyper& h,
                     Rng&) {
  sgd_update(w_.data(), grads.data(), global_.data(), velocity.empty() ? nullptr : velocity.data(),
             w_.size(), h);
}

void Fp32Store::finish_client(std::span<float> out) { std::copy(w_.begin(), w_.end(), out.begin()); }

std::int64_t Fp32Store::kept_value_bytes(std::span<const std::size_t> kept_per_var, Copy) const {
  std::size_t total = 0;
  for (const auto k : kept_per_var) total += sizeof(float) * k;
  return static_cast<std::int64_t>(total);
}

}  // namespace fedhpc::train
