#include "fedhpc/prune/mask.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/core/error.hpp"

namespace fedhpc::prune {
namespace {

std::size_t count_of(double density, std::size_t n) {
  return std::min(n, static_cast<std::size_t>(std::llround(density * static_cast<double>(n))));
}

/// Moves the k indices of largest score to the front (ties: lower index
/// first, a total order, so the selection is deterministic).
template <class Score>
void top_first(std::vector<std::uint32_t>& idx, std::size_t k, Score score) {
  std::nth_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                   [&](std::uint32_t a, std::uint32_t b) {
                     const auto sa = score(a), sb = score(b);
                     return sa > sb || (sa == sb && a < b);
                   });
}

}  // namespace

Mask::Mask(const model::ParamLayout& layout)
    : layout_(&layout), keep_(layout.size(), 1), kept_var_(layout.num_vars(), 0) {
  for (const auto& v : layout.vars())
    if (v.is_weight()) prunable_ += v.size;
  if (prunable_ == 0)
    throw ConfigError("prune.method", "the model has no prunable (conv or linear weight) layer");
  recount();
}

void Mask::recount() {
  kept_total_ = 0;
  for (std::size_t i = 0; i < layout_->num_vars(); ++i) {
    const auto& v = layout_->var(i);
    std::size_t k = 0;
    for (std::size_t j = v.offset; j < v.offset + v.size; ++j) k += keep_[j];
    kept_var_[i] = k;
    kept_total_ += k;
  }
}

double Mask::density() const noexcept {
  return static_cast<double>(kept_total_) / static_cast<double>(keep_.size());
}

double Mask::density_of(std::size_t var) const {
  return static_cast<double>(kept_var_[var]) / static_cast<double>(layout_->var(var).size);
}

double Mask::weight_sparsity() const noexcept {
  std::size_t kept_w = 0;
  for (std::size_t i = 0; i < layout_->num_vars(); ++i)
    if (layout_->var(i).is_weight()) kept_w += kept_var_[i];
  return 1.0 - static_cast<double>(kept_w) / static_cast<double>(prunable_);
}

std::size_t Mask::support_bytes() const noexcept {
  return kept_total_ == keep_.size() ? 0 : compress::support_bytes(keep_.size(), kept_total_);
}

void Mask::apply(std::span<float> x) const noexcept {
  for (std::size_t j = 0; j < keep_.size(); ++j) x[j] = keep_[j] ? x[j] : 0.0f;
}

void Mask::apply(std::span<const float> x, std::span<float> out) const noexcept {
  for (std::size_t j = 0; j < keep_.size(); ++j) out[j] = keep_[j] ? x[j] : 0.0f;
}

void Mask::apply(std::span<const float> x, std::span<float> out, std::size_t offset) const noexcept {
  const std::uint8_t* k = keep_.data() + offset;
  for (std::size_t j = 0; j < x.size(); ++j) out[j] = k[j] ? x[j] : 0.0f;
}

void Mask::keep_top(std::span<const double> score, double density) {
  std::vector<std::uint32_t> idx;
  idx.reserve(prunable_);
  for (const auto& v : layout_->vars())
    if (v.is_weight())
      for (std::size_t j = v.offset; j < v.offset + v.size; ++j) idx.push_back(static_cast<std::uint32_t>(j));
  const std::size_t k = count_of(density, prunable_);
  top_first(idx, k, [&](std::uint32_t j) { return score[j]; });
  for (const auto& v : layout_->vars())
    if (v.is_weight()) std::fill_n(keep_.begin() + static_cast<std::ptrdiff_t>(v.offset), v.size, 0);
  for (std::size_t i = 0; i < k; ++i) keep_[idx[i]] = 1;
  recount();
}

void Mask::keep_largest(std::span<const float> w, double density) {
  std::vector<double> score(w.size());
  for (std::size_t j = 0; j < w.size(); ++j) score[j] = std::fabs(static_cast<double>(w[j]));
  keep_top(score, density);
}

template <class Order>
void Mask::keep_per_layer(double density, Order order) {
  const auto d = erk_densities(*layout_, density);
  std::vector<std::uint32_t> idx;
  for (std::size_t i = 0; i < layout_->num_vars(); ++i) {
    const auto& v = layout_->var(i);
    if (!v.is_weight()) continue;
    const std::size_t k = count_of(d[i], v.size);
    idx.resize(v.size);
    std::iota(idx.begin(), idx.end(), static_cast<std::uint32_t>(v.offset));
    order(idx, k);  // the kept indices first
    std::fill_n(keep_.begin() + static_cast<std::ptrdiff_t>(v.offset), v.size, 0);
    for (std::size_t t = 0; t < k; ++t) keep_[idx[t]] = 1;
  }
  recount();
}

void Mask::keep_largest_erk(std::span<const float> w, double density) {
  keep_per_layer(density, [&](std::vector<std::uint32_t>& idx, std::size_t k) {
    top_first(idx, k, [&](std::uint32_t j) { return std::fabs(w[j]); });
  });
}

void Mask::set_erk_random(double density, Rng& rng) {
  keep_per_layer(density, [&](std::vector<std::uint32_t>& idx, std::size_t) {
    rng.shuffle(std::span<std::uint32_t>(idx));
  });
}

void Mask::set_random(double density, Rng& rng) {
  std::vector<double> score(keep_.size());
  for (auto& s : score) s = rng.uniform();
  keep_top(score, density);
}

void Mask::set_flags(std::span<const std::uint8_t> flags) {
  expects(flags.size() == keep_.size(), "Mask::set_flags: size mismatch");
  for (std::size_t j = 0; j < flags.size(); ++j) keep_[j] = flags[j] ? 1 : 0;
  for (const auto& v : layout_->vars())
    if (!v.is_weight()) std::fill_n(keep_.begin() + static_cast<std::ptrdiff_t>(v.offset), v.size, 1);
  recount();
}

std::vector<double> erk_densities(const model::ParamLayout& layout, double density) {
  const auto& vars = layout.vars();
  std::vector<double> d(vars.size(), 1.0), raw(vars.size(), 0.0);
  std::vector<bool> dense(vars.size(), false);
  double total = 0.0;
  for (std::size_t i = 0; i < vars.size(); ++i) {
    if (!vars[i].is_weight()) continue;
    total += static_cast<double>(vars[i].size);
    double sum = 0.0, prod = 1.0;
    for (const int s : vars[i].shape) {
      sum += s;
      prod *= s;
    }
    raw[i] = sum / prod;
  }
  // Kept weights must total density * total; dense layers keep all of theirs.
  for (;;) {
    double rhs = density * total, divisor = 0.0;
    for (std::size_t i = 0; i < vars.size(); ++i) {
      if (!vars[i].is_weight()) continue;
      const double n = static_cast<double>(vars[i].size);
      if (dense[i]) rhs -= n;
      else divisor += raw[i] * n;
    }
    const double eps = divisor > 0.0 ? rhs / divisor : 0.0;
    bool changed = false;
    for (std::size_t i = 0; i < vars.size(); ++i)
      if (vars[i].is_weight() && !dense[i] && eps * raw[i] > 1.0) {
        dense[i] = true;
        changed = true;
      }
    if (changed) continue;
    for (std::size_t i = 0; i < vars.size(); ++i)
      if (vars[i].is_weight()) d[i] = dense[i] ? 1.0 : std::max(0.0, eps * raw[i]);
    return d;
  }
}

}  // namespace fedhpc::prune
