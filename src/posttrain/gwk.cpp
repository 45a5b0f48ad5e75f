#include "fedhpc/posttrain/gwk.hpp"

#include <algorithm>
#include <cmath>

#include "fedhpc/compress/residual_store.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/posttrain/codebook.hpp"
#include "fedhpc/posttrain/kmeans.hpp"

namespace fedhpc::posttrain {
namespace {

/// Sub-vectors of v (zero-padded to whole blocks) and their unit-L2 weights from |g|.
void points_of(std::span<const float> v, std::span<const double> g, int block, std::vector<float>& x,
               std::vector<double>& a) {
  const auto b = static_cast<std::size_t>(block);
  const std::size_t n = (v.size() + b - 1) / b;
  x.assign(n * b, 0.0f);
  std::copy(v.begin(), v.end(), x.begin());
  a.assign(n, 0.0);
  double norm = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t e = std::min(v.size(), (j + 1) * b);
    double s = 0.0;
    for (std::size_t i = j * b; i < e; ++i) s += std::fabs(g[i]);
    a[j] = s / static_cast<double>(e - j * b);
    norm += a[j] * a[j];
  }
  norm = std::sqrt(norm);
  for (double& w : a) w = norm > 0.0 && std::isfinite(norm) ? w / norm : 1.0;
}

/// Weight tensors of at least kSmallLayer elements are clustered; the rest
/// (biases, small tensors) sit on an affine 8-bit grid.
bool clustered(const model::Variable& v) { return v.is_weight() && v.size >= kSmallLayer; }

}  // namespace

GwkPhase::GwkPhase(const PosttrainSection& cfg, const model::ParamLayout& layout, std::uint64_t seed)
    : cfg_(cfg), layout_(&layout), seed_(seed) {}

void GwkPhase::snap(std::span<const double> g, std::span<float> model) {
  const bool seeded = coded_.empty();
  if (seeded) coded_.resize(layout_->num_vars());
  std::vector<float> x;
  std::vector<double> a;
  for (std::size_t i = 0; i < layout_->num_vars(); ++i) {
    const model::Variable& var = layout_->var(i);
    fl::CodedVariable& c = coded_[i];
    if (!clustered(var)) {  // an affine 8-bit grid over the current range
      c = affine8(*layout_, i, model);
      decode(*layout_, c, model);
      continue;
    }
    const auto v = layout_->view(model, i);
    const int block = cfg_.block;
    points_of(v, g.subspan(var.offset, var.size), block, x, a);
    const Points p{x, a, block};
    if (seeded) {
      Rng rng(seed_, Purpose::kPosttrain, i);
      c.var = i;
      c.block = block;
      c.codebook = kmeans_pp(p, 1 << cfg_.bits, rng);
      c.bits = bits_for(c.codebook.size() / static_cast<std::size_t>(block));
    }
    c.codes.resize(p.n());
    lloyd(p, c.codebook, c.codes, kLloydIterations);
    c.codebook_float_bits = cfg_.codebook_bits;
    if (c.codebook_float_bits == 16)  // stored as fp16: the model takes the stored values
      for (float& value : c.codebook) value = compress::fp16_to_float(compress::fp16_from_float(value));
    decode(*layout_, c, model);
  }
}

void GwkPhase::compress(fl::Validation& validation, std::span<float> model) {
  coded_.clear();
  std::vector<double> g(model.size());
  validation.gradient(model, g);
  snap(g, model);
}

void GwkPhase::before_step(int round, std::span<double> delta) {
  if (round < first_round_ || coded_.empty()) return;
  proxy_.resize(delta.size());
  for (std::size_t j = 0; j < delta.size(); ++j) proxy_[j] = std::fabs(delta[j]);
}

void GwkPhase::after_step(int round, std::span<float> model) {
  if (round < first_round_ || coded_.empty() || (round - first_round_ + 1) % cfg_.snap_every != 0) return;
  snap(proxy_, model);
}

fl::CompressionReport GwkPhase::finish(fl::Validation& validation, std::span<float> model) {
  expects(!coded_.empty(), "GwkPhase::finish before compress");
  std::vector<double> g(model.size());
  validation.gradient(model, g);
  snap(g, model);
  fl::CompressionReport r;
  r.coded = coded_;
  return r;
}

void GwkPhase::save(fl::NamedState& s) const {
  if (coded_.empty()) return;
  std::vector<float> books, entries;
  for (const auto& c : coded_) {
    books.insert(books.end(), c.codebook.begin(), c.codebook.end());
    entries.push_back(static_cast<float>(c.codebook.size()));
  }
  s.put("gwk_codebooks", books);
  s.put("gwk_codebook_sizes", entries);
}

void GwkPhase::load(const fl::NamedState& s) {
  const auto* books = s.find("gwk_codebooks");
  const auto* sizes = s.find("gwk_codebook_sizes");
  if (books == nullptr || sizes == nullptr) return;  // checkpointed before the clustering
  if (sizes->size() != layout_->num_vars())
    throw ConfigError("run.checkpoint", "gwk codebooks of another model");
  coded_.assign(layout_->num_vars(), {});
  std::size_t at = 0;
  for (std::size_t i = 0; i < coded_.size(); ++i) {
    const model::Variable& var = layout_->var(i);
    auto& c = coded_[i];
    const auto n = static_cast<std::size_t>((*sizes)[i]);
    if (at + n > books->size()) throw ConfigError("run.checkpoint", "gwk codebooks are truncated");
    c.var = i;
    c.codebook.assign(books->begin() + static_cast<std::ptrdiff_t>(at), books->begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    const bool k_means = clustered(var);
    c.block = k_means ? cfg_.block : 1;
    c.bits = k_means ? bits_for(n / static_cast<std::size_t>(c.block)) : 8;
    c.codebook_affine = !k_means;
    c.codebook_float_bits = k_means ? cfg_.codebook_bits : 32;
  }
}

}  // namespace fedhpc::posttrain
