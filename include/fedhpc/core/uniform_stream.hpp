#pragma once
/// A stream of uniforms in [0, 1) for stochastic rounding, drawn in bulk:
/// RngLanes (eight xoshiro256** lanes seeded by a parent Rng) yields 16
/// uniforms per tick, u[l] = (r_l >> 40) 2^-24 and u[8 + l] = ((r_l >> 8) mod
/// 2^24) 2^-24 for the lanes' 64-bit draws r_0..r_7, so each is a multiple of
/// 2^-24 (1 - u is exact in float). The k-th uniform handed out is the same
/// however the requests are split (fill of any sizes, next), so a kernel's
/// draws depend on its element order only, not on tiling.
#include <cstddef>
#include <cstdint>

#include "fedhpc/core/rng.hpp"

namespace fedhpc {

/// Uniforms in [0, 1) with 24 random bits, 16 per RngLanes tick, in one fixed order.
class UniformStream {
 public:
  /// Uniforms per tick of the lanes.
  static constexpr std::size_t kChunk = 2 * RngLanes::kLanes;
  /// Seeds the lanes from parent (advances it by 4 * RngLanes::kLanes draws).
  explicit UniformStream(Rng& parent) noexcept : lanes_(parent) {}
  /// The next m uniforms into u[0, m).
  void fill(float* u, std::size_t m) noexcept;
  /// The next uniform (one at a time: for references and tests).
  float next() noexcept {
    float u;
    fill(&u, 1);
    return u;
  }
  /// Uniforms handed out so far.
  std::uint64_t drawn() const noexcept { return drawn_; }

 private:
  RngLanes lanes_;
  float pending_[kChunk] = {};     // (kChunk) the last tick's uniforms; [next_, kChunk) not yet handed out
  std::size_t next_ = kChunk;   // first pending uniform
  std::uint64_t drawn_ = 0;
};

}  // namespace fedhpc
