#include "fedhpc/train/encoded_store.hpp"

#include <algorithm>

#include "fedhpc/core/error.hpp"

namespace fedhpc::train {
namespace {

compress::Rounding to_codec(Rounding r) {
  return r == Rounding::kNearest ? compress::Rounding::kNearest : compress::Rounding::kStochastic;
}

// Sub-streams of (seed, kStorage, round, ·) used by the server side.
constexpr std::uint64_t kPpqStream = 0;
constexpr std::uint64_t kTransportStream = 1;

}  // namespace

EncodedStore::EncodedStore(const RunConfig& cfg, const model::ParamLayout& layout,
                           const compress::StorageSpec& spec)
    : layout_(&layout),
      seed_(cfg.run.seed),
      rounding_(to_codec(cfg.storage.rounding)),
      transport_(to_codec(cfg.storage.transport_rounding)),
      uplink_encoded_(cfg.storage.uplink == UplinkFormat::kEncoded),
      prox_(cfg.client.prox_mu > 0),
      fp32_fraction_(spec.fp32_fraction),
      down_(layout, spec),
      local_(layout, spec),
      transient_(layout.max_var_size()),
      anchor_(prox_ ? layout.max_var_size() : 0) {}

void EncodedStore::begin_round(int round, std::span<const float> global) {
  // PPQ: the round's fp32 subset, shared by the broadcast and every client.
  Rng ppq(seed_, Purpose::kStorage, static_cast<std::uint64_t>(round), kPpqStream);
  const auto fp32_vars = compress::select_fp32_vars(*layout_, fp32_fraction_, ppq);
  down_.set_fp32_vars(fp32_vars);
  local_.set_fp32_vars(fp32_vars);
  Rng transport(seed_, Purpose::kStorage, static_cast<std::uint64_t>(round), kTransportStream);
  down_.encode_all(global, transport_, transport);
}

void EncodedStore::start_client() {
  local_ = down_;  // same layout and size: copies bytes, no allocation
}

std::span<const float> EncodedStore::acquire(std::size_t i) {
  if (held_ != kNone)
    throw InternalError("EncodedStore: variable " + std::to_string(i) + " acquired while " +
                        std::to_string(held_) + " is held (one transient buffer)");
  held_ = i;
  const std::span<float> out(transient_.data(), layout_->var(i).size);
  local_.decode_var(i, out);
  return out;
}

void EncodedStore::release(std::size_t) noexcept { held_ = kNone; }

void EncodedStore::step(std::span<const float> grads, std::span<float> velocity,
                        const SgdHyper& h, Rng& rng) {
  for (std::size_t i = 0; i < layout_->num_vars(); ++i) {
    const auto& v = layout_->var(i);
    const std::span<float> w(transient_.data(), v.size);
    local_.decode_var(i, w);
    const float* w0 = nullptr;
    if (prox_) {
      down_.decode_var(i, std::span<float>(anchor_.data(), v.size));
      w0 = anchor_.data();
    }
    sgd_update(w.data(), grads.data() + v.offset, w0,
               velocity.empty() ? nullptr : velocity.data() + v.offset, v.size, h);
    local_.encode_var(i, w, rounding_, rng);
  }
}

void EncodedStore::finish_client(std::span<float> out) { local_.decode_all(out); }

std::int64_t EncodedStore::uplink_bytes() const {
  return uplink_encoded_ ? static_cast<std::int64_t>(local_.bytes())
                         : static_cast<std::int64_t>(4 * layout_->size());
}

std::uint64_t EncodedStore::transient_bytes() const {
  return 4ull * (transient_.size() + anchor_.size());
}

}  // namespace fedhpc::train
