#pragma once
/// A whole model's parameters held in encoded form (OMC storage and transport,
/// METHODS.md §1), decoded and re-encoded one variable at a time.
///
/// Stored layout: one byte arena, variables in layout order, each either
///   fp32:      n raw floats                                   (4n bytes)
///   quantized: [alpha, beta] (PVT)  [lo, s] (integer mode)    (4 bytes each, float)
///              then the packed codes                          (ceil(n*bits/8) bytes)
/// with bits = b (integer) or 1+e+m (float). bytes() is the arena size: the
/// "parameter memory" without the transient decoded variable and the
/// "transport size" of METHODS.md §1.
///
/// Which variables are quantized: none for kFp32; with weights_only (WMOQ)
/// only weight variables (dense matrices, conv kernels), biases stay fp32; and
/// the round's PPQ set (set_fp32_vars, chosen by select_fp32_vars) stays fp32.
#include <cstddef>
#include <span>
#include <vector>

#include "fedhpc/compress/quantizer.hpp"
#include "fedhpc/compress/storage_spec.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::compress {

/// PPQ selection: the weight variables kept fp32 this round, ascending.
/// Rule: shuffle the weight variables with rng (Fisher-Yates), then walk them in
/// that order and take each one whose size still fits, i.e. while
/// taken + n_v <= rho * (total weight parameters); variables that would
/// overshoot are skipped and the walk continues (first fit). The fp32 share
/// is therefore never above rho (a hard memory bound) and no skipped variable
/// would have fit; if even the smallest weight variable exceeds rho * total,
/// nothing is selected. Throws InternalError unless 0 <= rho <= 1.
std::vector<std::size_t> select_fp32_vars(const model::ParamLayout& layout, double rho, Rng& rng);

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

  /// Keeps exactly `vars` fp32 among the variables the spec quantizes (the
  /// round's PPQ set; empty: none). Re-lays the storage and resets it to
  /// the all-zero model, so call it before encode_all. Allocates only if the
  /// set holds more than fp32_fraction of the weight parameters.
  void set_fp32_vars(std::span<const std::size_t> vars);

  /// Encodes the whole model from flat (layout order, num_params()).
  void encode_all(std::span<const float> flat, Rounding r, Rng& rng);
  /// Re-encodes variable i from values (its size), recomputing its scalars.
  void encode_var(std::size_t i, std::span<const float> values, Rounding r, Rng& rng);
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
  void encode_range(std::size_t i, std::size_t begin, std::span<const float> values,
                    const Scalars& s, Rounding r, Rng& rng);

  /// Stored bytes: packed codes + per-variable scalars + fp32 variables.
  std::size_t bytes() const noexcept { return arena_.size(); }
  /// Stored bytes of variable i.
  std::size_t var_bytes(std::size_t i) const;
  /// Bytes of variable i if only `kept` of its values were stored (a pruned
  /// variable: its scalars plus kept codes, or 4 bytes per kept fp32 value).
  std::size_t kept_bytes(std::size_t i, std::size_t kept) const;
  /// True when variable i is stored quantized (false: fp32).
  bool is_quantized(std::size_t i) const;
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
  };
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
};

}  // namespace fedhpc::compress
