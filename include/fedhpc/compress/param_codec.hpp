#pragma once
/// A whole model's parameters held in encoded form (OMC storage and transport,
/// METHODS.md §1), decoded and re-encoded one variable at a time.
///
/// Stored layout: one byte arena, variables in layout order, each either
///   fp32:      n raw floats                                   (4n bytes)
///   quantized: [alpha, beta] (PVT)  [lo, s] (integer mode)    (4 bytes each, float)
///              then the packed codes of its n_q quantized     (ceil(n_q*bits/8) bytes)
///              elements, then its n - n_q PPQ fp32 elements   (4 bytes each)
/// with bits = b (integer) or 1+e+m (float). bytes() is the arena size: the
/// "parameter memory" without the transient decoded variable and the
/// "transport size" of METHODS.md §1.
///
/// Which variables are quantized: none for kFp32; with weights_only (WMOQ)
/// only weight variables (dense matrices, conv kernels), biases stay fp32; and
/// the round's PPQ blocks (set_fp32_blocks, chosen by select_fp32_blocks in
/// compress/ppq.hpp) stay fp32. A variable whose every block is fp32 is stored
/// as an fp32 variable (no scalars); one with some fp32 blocks ("mixed") keeps
/// one set of scalars, computed over its quantized elements only.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fedhpc/compress/ppq.hpp"
#include "fedhpc/compress/quantizer.hpp"
#include "fedhpc/compress/storage_spec.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/core/uniform_stream.hpp"
#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::compress {

/// One model stored encoded: per variable fp32 values or packed codes + scalars.
/// All storage is sized in the constructor; encode and decode never allocate.
/// Copies are value copies sized to bytes(); assigning into an existing
/// instance (operator=) reuses its reserved storage.
class EncodedParams {
 public:
  /// Sizes the storage for `layout` under `spec` (validated), including room
  /// for the largest PPQ fp32 set fp32_fraction allows. Starts as the all-zero model.
  EncodedParams(const model::ParamLayout& layout, const StorageSpec& spec);

  /// The storage spec.
  const StorageSpec& spec() const noexcept { return spec_; }
  /// Number of variables.
  std::size_t num_vars() const noexcept { return vars_.size(); }
  /// Number of parameters.
  std::size_t num_params() const noexcept { return num_params_; }

  /// The PPQ blocks of the spec's granularity (compress/ppq.hpp).
  std::span<const PpqBlock> ppq_blocks() const noexcept { return blocks_; }
  /// Keeps exactly the blocks `chosen` (indices into ppq_blocks(), the round's
  /// PPQ set; empty: none) fp32 among the variables the spec quantizes.
  /// Re-lays the storage and resets it to the all-zero model, so call it
  /// before encode_all. Allocates only if the set holds more than
  /// fp32_fraction of the weight parameters.
  void set_fp32_blocks(std::span<const std::size_t> chosen);

  /// Encodes the whole model from flat (layout order, num_params()); stochastic
  /// rounding draws from one UniformStream seeded by rng (nearest: rng unused).
  void encode_all(std::span<const float> flat, Rounding r, Rng& rng);
  /// Re-encodes variable i from values (its size), recomputing its scalars;
  /// u: the stochastic draws (may be null with nearest rounding).
  void encode_var(std::size_t i, std::span<const float> values, Rounding r, UniformStream* u);
  /// Decodes variable i into out (its size).
  void decode_var(std::size_t i, std::span<float> out) const;
  /// Decodes the whole model into flat (num_params()).
  void decode_all(std::span<float> flat) const;

  /// Element alignment of range operations: 8 codes are whole bytes at any width.
  static constexpr std::size_t kRangeAlign = 8;
  /// Per-variable scalars of a quantized variable (identity, zero grid otherwise).
  struct Scalars {
    Affine t;   ///< PVT transform (identity without PVT)
    IntGrid g;  ///< integer grid (unused in float mode)
  };
  /// The stored scalars of variable i.
  Scalars scalars(std::size_t i) const;
  /// The scalars encode_var would choose for values with statistics st
  /// (min, max and mean over the whole variable).
  Scalars scalars_for(const MinMaxMean& st) const;
  /// Stores s as the scalars of variable i (after encode_range of all of it).
  void set_scalars(std::size_t i, const Scalars& s);
  /// Decodes elements [begin, begin + out.size()) of variable i as if its
  /// scalars were s; begin must be a multiple of kRangeAlign.
  void decode_range(std::size_t i, std::size_t begin, std::span<float> out, const Scalars& s) const;
  /// Encodes values as elements [begin, begin + values.size()) of variable i
  /// with scalars s; begin must be a multiple of kRangeAlign, and so must the
  /// size unless the range ends the variable. Touches no other element's bytes.
  /// Draws one uniform of u per quantized element, in element order.
  void encode_range(std::size_t i, std::size_t begin, std::span<const float> values,
                    const Scalars& s, Rounding r, UniformStream* u);

  /// Stored bytes: packed codes + per-variable scalars + fp32 variables.
  std::size_t bytes() const noexcept { return arena_.size(); }
  /// Stored bytes of variable i.
  std::size_t var_bytes(std::size_t i) const;
  /// Bytes of variable i if only `kept` of its values were stored (a pruned
  /// variable: its scalars plus kept codes, or 4 bytes per kept fp32 value).
  /// Throws InternalError for a mixed variable (PPQ row blocks): the bytes
  /// depend on which values are kept (config validation refuses the pairing).
  std::size_t kept_bytes(std::size_t i, std::size_t kept) const;
  /// True when variable i is stored quantized (false: fp32), possibly with PPQ fp32 blocks.
  bool is_quantized(std::size_t i) const;
  /// Number of quantized elements of variable i (0 for an fp32 variable).
  std::size_t quantized_count(std::size_t i) const;
  /// True when variable i is quantized but holds PPQ fp32 blocks.
  bool is_mixed(std::size_t i) const;
  /// Calls f(pos, count, fp32) for each maximal run [pos, pos + count) of
  /// elements [begin, begin + count) of variable i that are stored alike (all
  /// fp32 or all codes), in element order.
  template <class F>
  void for_each_run(std::size_t i, std::size_t begin, std::size_t count, F&& f) const {
    const Slot& v = vars_[i];
    if (!(v.quantized && v.n_fp32 > 0)) {
      if (count > 0) f(begin, count, !v.quantized);
      return;
    }
    for_each_block_run(v, begin, begin + count,
                       [&](std::size_t pos, std::size_t n, bool fp32, std::size_t) { f(pos, n, fp32); });
  }
  /// Bytes reserved for the storage (>= bytes(): room for the PPQ fp32 set).
  std::size_t capacity_bytes() const noexcept { return arena_.capacity(); }
  /// The stored bytes themselves (bytes() long), e.g. to send or checksum.
  std::span<const std::byte> data() const noexcept { return arena_; }

 private:
  struct Slot {
    std::size_t offset = 0;  // first element in the flat buffer
    std::size_t size = 0;    // elements
    bool weight = false;     // dense matrix or conv kernel
    bool quantized = false;  // stored as codes (else fp32)
    std::size_t pos = 0;     // first byte in arena_
    std::size_t bytes = 0;   // stored bytes
    std::size_t block = 0;        // PPQ block length (weights), else 0
    std::size_t first_block = 0;  // its first block in blocks_
    std::size_t n_fp32 = 0;       // PPQ fp32 elements of a quantized variable
  };
  /// Runs of a mixed variable v over [begin, end): g(pos, count, fp32, index),
  /// index = the run's first position among v's fp32 values or codes.
  template <class G>
  void for_each_block_run(const Slot& v, std::size_t begin, std::size_t end, G&& g) const {
    std::size_t pos = begin;
    while (pos < end) {
      const std::size_t j = pos / v.block;
      const bool fp32 = block_fp32_[v.first_block + j] != 0;
      const std::size_t index = fp32 ? fp32_before_[v.first_block + j] + (pos - j * v.block)
                                     : pos - fp32_before_[v.first_block + j];
      std::size_t k = j + 1;
      std::size_t stop = std::min(end, k * v.block);
      while (stop < end && (block_fp32_[v.first_block + k] != 0) == fp32) stop = std::min(end, ++k * v.block);
      g(pos, stop - pos, fp32, index);
      pos = stop;
    }
  }
  /// Bytes of the scalars in front of a quantized variable's codes.
  std::size_t header_bytes() const noexcept;
  /// Range and mean over the quantized elements of mixed variable v, values x (v.size).
  MinMaxMean quantized_stats(const Slot& v, const float* x) const;
  /// Whether the spec quantizes variable v when it is not in the PPQ set.
  bool spec_quantizes(const Slot& v) const noexcept;
  /// Stored bytes of v in its current form.
  std::size_t stored_bytes(const Slot& v) const noexcept;
  /// Recomputes positions and resizes the arena to the zero model.
  void relayout();

  StorageSpec spec_;
  FloatFormat format_;
  std::vector<Slot> vars_;
  std::size_t num_params_ = 0;
  std::vector<std::byte> arena_;  // (bytes()) the encoded model
  std::vector<PpqBlock> blocks_;          // (weight blocks) PPQ partition
  std::vector<std::uint8_t> block_fp32_;  // (weight blocks) 1: fp32 this round
  std::vector<std::size_t> fp32_before_;  // (weight blocks) fp32 elements in earlier blocks of the variable
};

}  // namespace fedhpc::compress
