#pragma once
/// OMC parameter storage (METHODS.md §1): the client's parameters live encoded.
/// Forward and backward decode on demand into one transient buffer of at most
/// storage.decode_tile elements (dense weights row tile by row tile, other
/// variables whole); each optimizer step updates and re-encodes variable by
/// variable, q_v <- Q(Q^-1(q_v) - lr * g_v): a first pass updates it tile by
/// tile (committing the velocity), accumulates its range (and mean for PVT)
/// and parks the updated values in the variable's own slot of the gradient
/// buffer (its gradient is consumed by then; the buffer is counted anyway); a
/// second pass encodes them from there with the new scalars. No fp32 copy of
/// the parameters is held beyond the gradient buffer and one tile. The
/// broadcast is encoded once per round with the same codec (transport
/// rounding) and is every client's starting point.
#include <vector>

#include "fedhpc/compress/param_codec.hpp"
#include "fedhpc/train/param_store.hpp"

namespace fedhpc::train {

/// Encoded client parameters.
class EncodedStore final : public ParamStore, private model::ParamSource {
 public:
  EncodedStore(const RunConfig& cfg, const model::ParamLayout& layout,
               const compress::StorageSpec& spec);
  void begin_round(int round, std::span<const float> global) override;
  void start_client() override;
  model::ParamSource& source() override { return *this; }
  void step(std::span<float> grads, std::span<float> velocity, const SgdHyper& h,
            Rng& rng) override;
  void finish_client(std::span<float> out) override;
  std::int64_t downlink_bytes() const override { return static_cast<std::int64_t>(down_.bytes()); }
  std::int64_t uplink_bytes() const override;
  bool diverged() const override { return diverged_; }
  std::uint64_t stored_bytes() const override { return local_.bytes(); }
  std::uint64_t transient_bytes() const override;
  std::uint64_t anchor_bytes() const override { return down_.bytes(); }
  double fp32_weight_fraction() const override;
  std::int64_t kept_value_bytes(std::span<const std::size_t> kept_per_var, Copy copy) const override;

 private:
  std::span<const float> acquire(std::size_t i) override;
  std::span<const float> acquire_range(std::size_t i, std::size_t begin, std::size_t count) override;
  void release(std::size_t i) noexcept override;
  std::size_t tile_elements() const override { return tile_; }
  /// Decodes elements [begin, begin + count) of variable i of `from` into buf
  /// (aligning begin down) and returns the requested elements.
  std::span<float> decode_into(const compress::EncodedParams& from, std::size_t i,
                               std::size_t begin, std::size_t count, std::vector<float>& buf,
                               const compress::EncodedParams::Scalars& s) const;

  const model::ParamLayout* layout_;
  std::uint64_t seed_;
  compress::Rounding rounding_, transport_;
  bool uplink_encoded_;
  bool prox_;
  double fp32_fraction_;
  std::size_t tile_;               // elements per tile (multiple of 8), or unbounded
  compress::EncodedParams down_;   // the round's broadcast
  compress::EncodedParams local_;  // the client's parameters
  std::vector<float> transient_;   // decoded working buffer (tile + alignment, or largest whole var)
  std::vector<float> anchor_;      // decoded broadcast tile, FedProx only
  bool diverged_ = false;           // a step of the current client met a non-finite value
  std::size_t held_ = kNone;       // variable currently acquired
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
};

}  // namespace fedhpc::train
