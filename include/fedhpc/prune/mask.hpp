#pragma once
/// A pruning mask over the flat parameter buffer (METHODS.md §2): one keep
/// flag per parameter, with per-variable views. Only weights (conv kernels and
/// dense matrices) are prunable; biases are always kept.
///
/// Encoded size of the support (what travels with sparse values): the kept
/// indices bit-packed at index_bits(P) bits, or a P-bit bitmask, whichever is
/// smaller (compress::support_bytes); a full mask needs no support.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fedhpc/core/rng.hpp"
#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::prune {

/// Keep flags over a model's parameters.
class Mask {
 public:
  /// All kept. Throws ConfigError naming prune.method if `layout` has no prunable variable.
  explicit Mask(const model::ParamLayout& layout);

  const model::ParamLayout& layout() const noexcept { return *layout_; }
  std::size_t size() const noexcept { return keep_.size(); }
  bool kept(std::size_t j) const noexcept { return keep_[j] != 0; }
  /// (P) 1 = kept, 0 = pruned.
  std::span<const std::uint8_t> flags() const noexcept { return keep_; }

  /// Kept parameters of variable i, and of the whole model.
  std::size_t kept_in(std::size_t var) const { return kept_var_[var]; }
  std::size_t kept_total() const noexcept { return kept_total_; }
  /// Kept parameters per variable (layout order).
  std::span<const std::size_t> kept_per_var() const noexcept { return kept_var_; }
  /// Prunable parameters (all weights).
  std::size_t prunable() const noexcept { return prunable_; }
  /// Kept / size over all parameters (biases count as kept).
  double density() const noexcept;
  /// Kept / size of variable i.
  double density_of(std::size_t var) const;
  /// Sparsity of the prunable weights: 1 - kept weights / prunable.
  double weight_sparsity() const noexcept;
  /// Support bytes of the kept set (0 when everything is kept).
  std::size_t support_bytes() const noexcept;

  /// x[j] = 0 where pruned.
  void apply(std::span<float> x) const noexcept;
  /// out[j] = x[j] where kept, 0 where pruned.
  void apply(std::span<const float> x, std::span<float> out) const noexcept;
  /// The same for the parameters [offset, offset + x.size()).
  void apply(std::span<const float> x, std::span<float> out, std::size_t offset) const noexcept;

  /// Keeps the `round(density * prunable)` weights with the largest score
  /// (global over all prunable variables; ties: lower index first), all biases.
  void keep_top(std::span<const double> score, double density);
  /// Keeps the largest |w| weights globally at `density` (magnitude pruning).
  void keep_largest(std::span<const float> w, double density);
  /// Keeps, in every weight variable l, its round(d_l * size_l) largest |w|
  /// with d_l the ERK density of layer l at overall weight density `density`.
  void keep_largest_erk(std::span<const float> w, double density);
  /// Random mask with ERK per-layer densities at overall weight density
  /// `density` (erk_densities), each layer's kept set drawn uniformly from rng.
  void set_erk_random(double density, Rng& rng);
  /// Uniformly random kept set of `round(density * prunable)` weights.
  void set_random(double density, Rng& rng);
  /// Restores flags (P, 0 or 1 each).
  void set_flags(std::span<const std::uint8_t> flags);

 private:
  void recount();
  /// For every weight variable: its ERK count k at overall `density`;
  /// order(idx, k) moves the indices to keep to the front of idx.
  template <class Order>
  void keep_per_layer(double density, Order order);
  const model::ParamLayout* layout_;
  std::vector<std::uint8_t> keep_;     // (P)
  std::vector<std::size_t> kept_var_;  // (vars)
  std::size_t kept_total_ = 0;
  std::size_t prunable_ = 0;
};

/// ERK per-layer densities (Evci et al.): the density of weight variable l is
/// min(1, eps * sum(shape_l) / prod(shape_l)), with eps chosen so that the
/// kept weights total density * (all weights); layers that would exceed 1 are
/// dense and eps is recomputed for the rest. Biases: 1.
std::vector<double> erk_densities(const model::ParamLayout& layout, double density);

}  // namespace fedhpc::prune
