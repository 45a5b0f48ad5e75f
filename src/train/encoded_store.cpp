#include "fedhpc/train/encoded_store.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "fedhpc/core/error.hpp"

namespace fedhpc::train {
namespace {

// Sub-streams of (seed, kStorage, round, ·) used by the server side.
constexpr std::uint64_t kPpqStream = 0;
constexpr std::uint64_t kTransportStream = 1;
constexpr std::size_t kAlign = compress::EncodedParams::kRangeAlign;
constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

/// Largest variable that is read whole (everything but dense weight matrices).
std::size_t largest_whole_var(const model::ParamLayout& layout) {
  std::size_t m = 0;
  for (const auto& v : layout.vars())
    if (v.kind != model::VarKind::kDenseWeight) m = std::max(m, v.size);
  return m;
}

/// Widest dense weight row: a row tile holds at least one whole row.
std::size_t widest_row(const model::ParamLayout& layout) {
  std::size_t m = 0;
  for (const auto& v : layout.vars())
    if (v.kind == model::VarKind::kDenseWeight && v.shape.size() == 2)
      m = std::max(m, static_cast<std::size_t>(v.shape[1]));
  return m;
}

}  // namespace

EncodedStore::EncodedStore(const RunConfig& cfg, const model::ParamLayout& layout,
                           const compress::StorageSpec& spec)
    : layout_(&layout),
      seed_(cfg.run.seed),
      rounding_(cfg.storage.rounding),
      transport_(cfg.storage.transport_rounding),
      uplink_encoded_(cfg.storage.uplink == UplinkFormat::kEncoded),
      prox_(cfg.client.prox_mu > 0),
      fp32_fraction_(spec.fp32_fraction),
      // fp32 passthrough has nothing to decode: whole variables, plain arithmetic.
      tile_(cfg.storage.decode_tile == 0 || spec.codec == compress::StorageSpec::Codec::kFp32
                ? kUnbounded
                : static_cast<std::size_t>(cfg.storage.decode_tile) / kAlign * kAlign),
      down_(layout, spec),
      local_(layout, spec) {
  // A range read is at most max(tile, one row) elements, plus up to 7 to align its start.
  const std::size_t work =
      tile_ == kUnbounded
          ? layout.max_var_size()
          : std::min(layout.max_var_size(),
                     std::max(std::max(tile_, widest_row(layout)) + kAlign - 1, largest_whole_var(layout)));
  transient_.resize(work);
  if (prox_) anchor_.resize(tile_ == kUnbounded ? layout.max_var_size() : std::min(tile_, layout.max_var_size()));
}

void EncodedStore::begin_round(int round, std::span<const float> global) {
  // PPQ: the round's fp32 blocks, shared by the broadcast and every client.
  Rng ppq(seed_, Purpose::kStorage, static_cast<std::uint64_t>(round), kPpqStream);
  const auto fp32_blocks = compress::select_fp32_blocks(down_.ppq_blocks(), fp32_fraction_, ppq);
  down_.set_fp32_blocks(fp32_blocks);
  local_.set_fp32_blocks(fp32_blocks);
  Rng transport(seed_, Purpose::kStorage, static_cast<std::uint64_t>(round), kTransportStream);
  down_.encode_all(global, transport_, transport);
}

void EncodedStore::start_client() {
  local_ = down_;  // same layout and size: copies bytes, no allocation
  diverged_ = false;
}

std::span<float> EncodedStore::decode_into(const compress::EncodedParams& from, std::size_t i,
                                           std::size_t begin, std::size_t count,
                                           std::vector<float>& buf,
                                           const compress::EncodedParams::Scalars& s) const {
  const std::size_t a = begin - begin % kAlign;
  const std::size_t n = std::min(count + (begin - a), layout_->var(i).size - a);
  if (n > buf.size())
    throw InternalError("EncodedStore: " + std::to_string(count) + " elements of " +
                        layout_->var(i).name + " exceed the decode buffer of " +
                        std::to_string(buf.size()) + " (read dense weights by row tiles)");
  from.decode_range(i, a, std::span<float>(buf.data(), n), s);
  return std::span<float>(buf.data() + (begin - a), count);
}

std::span<const float> EncodedStore::acquire(std::size_t i) {
  return acquire_range(i, 0, layout_->var(i).size);
}

std::span<const float> EncodedStore::acquire_range(std::size_t i, std::size_t begin,
                                                   std::size_t count) {
  if (held_ != kNone)
    throw InternalError("EncodedStore: variable " + std::to_string(i) + " acquired while " +
                        std::to_string(held_) + " is held (one transient buffer)");
  const auto out = decode_into(local_, i, begin, count, transient_, local_.scalars(i));
  held_ = i;
  return out;
}

void EncodedStore::release(std::size_t) noexcept { held_ = kNone; }

void EncodedStore::step(std::span<float> grads, std::span<float> velocity,
                        const SgdHyper& h, Rng& rng) {
  // The step's stochastic draws: one stream seeded by the client's rounding
  // stream, one uniform per quantized element in (variable, element) order.
  std::optional<UniformStream> draws;
  if (rounding_ == compress::Rounding::kStochastic) draws.emplace(rng);
  UniformStream* u = draws ? &*draws : nullptr;
  for (std::size_t i = 0; i < layout_->num_vars(); ++i) {
    const auto& var = layout_->var(i);
    const std::size_t n = var.size;
    const std::size_t T = std::min(n, tile_ == kUnbounded ? n : tile_);
    float* g = grads.data() + var.offset;
    float* vel = velocity.empty() ? nullptr : velocity.data() + var.offset;
    const auto old = local_.scalars(i);
    const auto anchor_scalars = prox_ ? down_.scalars(i) : compress::EncodedParams::Scalars{};
    // Tile [b, b + c) of the current weights, and of the anchor under FedProx.
    const auto load = [&](std::size_t b, std::size_t c) {
      local_.decode_range(i, b, std::span<float>(transient_.data(), c), old);
      if (!prox_) return static_cast<const float*>(nullptr);
      down_.decode_range(i, b, std::span<float>(anchor_.data(), c), anchor_scalars);
      return static_cast<const float*>(anchor_.data());
    };
    float* w = transient_.data();
    if (!local_.is_quantized(i)) {
      for (std::size_t b = 0; b < n; b += T) {
        const std::size_t c = std::min(T, n - b);
        const float* w0 = load(b, c);
        sgd_update(w, g + b, w0, vel ? vel + b : nullptr, c, h);
        local_.encode_range(i, b, std::span<const float>(w, c), old, rounding_, u);
      }
      continue;
    }
    // Pass 1: the update, committed, tile by tile; the range and mean of the
    // updated quantized elements (all of them unless PPQ keeps some of its
    // blocks fp32), accumulated as one sequence in 16 interleaved lanes (the
    // same result for any tiling); the updated tile replaces its gradient.
    compress::RangeAccumulator acc;
    const bool mixed = local_.is_mixed(i);
    for (std::size_t b = 0; b < n; b += T) {
      const std::size_t c = std::min(T, n - b);
      const float* w0 = load(b, c);
      sgd_update(w, g + b, w0, vel ? vel + b : nullptr, c, h);
      if (!mixed) acc.add(w, c);
      else
        local_.for_each_run(i, b, c, [&](std::size_t pos, std::size_t m, bool fp32) {
          if (!fp32) acc.add(w + (pos - b), m);
        });
      std::copy_n(w, c, g + b);
    }
    // The quantizer skips NaN in its range and would encode it as a valid code.
    if (!std::isfinite(acc.sum())) diverged_ = true;
    const auto fresh = local_.scalars_for(acc.result());
    // Pass 2: the whole updated variable encoded with the new scalars.
    local_.encode_range(i, 0, std::span<const float>(g, n), fresh, rounding_, u);
    local_.set_scalars(i, fresh);
  }
}

void EncodedStore::finish_client(std::span<float> out) { local_.decode_all(out); }

std::int64_t EncodedStore::uplink_bytes() const {
  return uplink_encoded_ ? static_cast<std::int64_t>(local_.bytes())
                         : static_cast<std::int64_t>(4 * layout_->size());
}

std::int64_t EncodedStore::kept_value_bytes(std::span<const std::size_t> kept_per_var, Copy copy) const {
  std::size_t total = 0;
  if (copy == Copy::kUplink && !uplink_encoded_) {
    for (const auto k : kept_per_var) total += sizeof(float) * k;
    return static_cast<std::int64_t>(total);
  }
  const compress::EncodedParams& p = copy == Copy::kDownlink ? down_ : local_;
  for (std::size_t i = 0; i < kept_per_var.size(); ++i) total += p.kept_bytes(i, kept_per_var[i]);
  return static_cast<std::int64_t>(total);
}

double EncodedStore::fp32_weight_fraction() const {
  std::size_t weights = 0, fp32 = 0;
  for (std::size_t i = 0; i < layout_->num_vars(); ++i) {
    if (!layout_->var(i).is_weight()) continue;
    weights += layout_->var(i).size;
    fp32 += layout_->var(i).size - down_.quantized_count(i);
  }
  return weights == 0 ? 1.0 : static_cast<double>(fp32) / static_cast<double>(weights);
}

std::uint64_t EncodedStore::transient_bytes() const {
  // The decode tile (and the anchor's under FedProx) plus the codec kernels'
  // block scratch (on the stack, held while a tile is encoded or decoded) and,
  // with stochastic rounding, the step's UniformStream (on the stack).
  const std::uint64_t tiles = 4ull * (transient_.size() + anchor_.size());
  if (local_.spec().codec == compress::StorageSpec::Codec::kFp32) return tiles;
  return tiles + compress::kCodecScratchBytes +
         (rounding_ == compress::Rounding::kStochastic ? sizeof(UniformStream) : 0);
}

}  // namespace fedhpc::train
