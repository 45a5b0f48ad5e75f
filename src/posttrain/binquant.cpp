#include "fedhpc/posttrain/binquant.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "fedhpc/posttrain/bins.hpp"
#include "fedhpc/posttrain/codebook.hpp"

namespace fedhpc::posttrain {
namespace {

constexpr float kProbeScale = 1.2f;

/// A candidate configuration of one layer.
struct Candidate {
  std::vector<double> edges;
  fl::ValidationScore score;
};

}  // namespace

BinQuantPhase::BinQuantPhase(const PosttrainSection& cfg, const model::ParamLayout& layout, bool gradient)
    : cfg_(cfg), layout_(&layout), gradient_(gradient) {}

void BinQuantPhase::compress(fl::Validation& validation, std::span<float> model) {
  report_ = {};
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < layout_->num_vars(); ++i)
    if (layout_->var(i).is_weight()) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return layout_->var(a).size > layout_->var(b).size; });
  // The reference carries from layer to layer, and so does the budget: each
  // layer may lose what is left of max_drop in proportion to its share of
  // the weights still to bin (what a layer does not use passes on), so the
  // whole model stays within max_drop of the unbinned model.
  const double reference = validation.evaluate(model).accuracy;
  double current = reference, to_go = 0.0;
  for (std::size_t var : order) to_go += static_cast<double>(layout_->var(var).size);
  for (std::size_t var : order) {
    const double n = static_cast<double>(layout_->var(var).size);
    const double left = cfg_.max_drop / 100.0 - (reference - current);
    current = bin_layer(validation, var, current - left * n / to_go, model);
    to_go -= n;
  }
}

double BinQuantPhase::bin_layer(fl::Validation& validation, std::size_t var, double floor,
                                std::span<float> model) {
  const auto w = layout_->view(model, var);
  const std::vector<float> original(w.begin(), w.end());

  // The gradient variant's per-weight |grad|, once per layer at the current model.
  std::vector<double> grad;
  if (gradient_) {
    std::vector<double> g(model.size());
    validation.gradient(model, g);
    grad.assign(g.begin() + static_cast<std::ptrdiff_t>(layout_->var(var).offset),
                g.begin() + static_cast<std::ptrdiff_t>(layout_->var(var).offset + w.size()));
  }
  auto score = [&](const Bins& bins, int scaled) {
    quantize(bins, original, w, scaled, kProbeScale);
    return validation.evaluate(model);
  };
  // The sensitivity of bin b: accuracy drop and loss rise of its probe.
  std::vector<double> drop, rise;
  auto probe = [&](const Bins& bins, const fl::ValidationScore& base, int b) {
    const fl::ValidationScore s = score(bins, b);
    drop[static_cast<std::size_t>(b)] = base.accuracy - s.accuracy;
    rise[static_cast<std::size_t>(b)] = s.loss - base.loss;
  };
  auto grad_mass = [&](const Bins& bins) {
    std::vector<double> mass(static_cast<std::size_t>(bins.count()), 0.0);
    for (std::size_t j = 0; j < original.size(); ++j)
      mass[static_cast<std::size_t>(bins.bin_of(original[j]))] += std::fabs(grad[j]);
    return mass;
  };

  Bins bins = Bins::initial(original);
  fl::ValidationScore base = score(bins, -1);
  std::vector<Candidate> accepted;
  int split = -1;
  for (;;) {
    report_.trace.push_back({static_cast<std::int32_t>(var), bins.count(), split, base.accuracy, base.loss});
    if (base.accuracy >= floor) accepted.push_back({bins.edges(), base});
    const bool width_full = (bins.count() & (bins.count() - 1)) == 0;  // a power of two
    if (bins.count() >= cfg_.max_bins || (!accepted.empty() && width_full)) break;
    const std::vector<bool> eligible = splittable(bins, original);
    if (gradient_) {
      split = largest(grad_mass(bins), eligible);
    } else {
      if (split < 0) {  // the initial bins: score them all
        drop.assign(static_cast<std::size_t>(bins.count()), 0.0);
        rise.assign(drop.size(), 0.0);
        for (int b = 0; b < bins.count(); ++b) probe(bins, base, b);
      }
      split = most_sensitive(drop, rise, eligible);
    }
    if (split < 0) break;  // every bin holds a single value: nothing left to refine
    bins.split(split);
    base = score(bins, -1);
    if (!gradient_) {
      // Bins after the split move up by one; only the two new ones are re-scored.
      drop.insert(drop.begin() + split, 0.0);
      rise.insert(rise.begin() + split, 0.0);
      probe(bins, base, split);
      probe(bins, base, split + 1);
    }
  }
  if (accepted.empty()) {  // no configuration within its share of max_drop: the layer stays fp32
    std::copy(original.begin(), original.end(), w.begin());
    return validation.evaluate(model).accuracy;
  }
  // The most accurate configuration of the smallest code width.
  const int width = bits_for(accepted.front().edges.size() - 1);
  const Candidate* best = nullptr;
  for (const auto& c : accepted)
    if (bits_for(c.edges.size() - 1) == width && (best == nullptr || c.score.accuracy > best->score.accuracy))
      best = &c;
  const Bins chosen(best->edges);
  fl::CodedVariable coded;
  coded.var = var;
  coded.bits = width;
  coded.block = 1;
  coded.codebook = chosen.midpoints();
  coded.codes.resize(original.size());
  chosen.assign(original, coded.codes);
  decode(*layout_, coded, model);
  report_.coded.push_back(std::move(coded));
  return best->score.accuracy;
}

fl::CompressionReport BinQuantPhase::finish(fl::Validation&, std::span<float>) { return report_; }

}  // namespace fedhpc::posttrain
