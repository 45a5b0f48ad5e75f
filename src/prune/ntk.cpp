#include "fedhpc/prune/ntk.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/param_source.hpp"

namespace fedhpc::prune {
namespace {

/// Server-seed keys of resample r of iteration t (distinct from the clients'
/// (iteration, client) streams of the same purpose).
constexpr std::uint64_t kThetaKey = std::uint64_t{1} << 40;
constexpr std::uint64_t kDeltaKey = std::uint64_t{2} << 40;

}  // namespace

double ntk_mask_gradient(model::Network& net, const Mask& mask, std::span<const float> theta,
                         std::span<const float> delta, double eps, const float* x, int b,
                         std::span<double> acc) {
  const std::size_t P = theta.size();
  const auto classes = static_cast<std::size_t>(net.num_classes());
  const auto n = static_cast<std::size_t>(b) * classes;
  std::vector<float> p1(P), p2(P), g(P), f2(n), dl(n);
  const auto e = static_cast<float>(eps);
  for (std::size_t j = 0; j < P; ++j) p2[j] = theta[j] + e * delta[j];
  mask.apply(theta, p1);
  mask.apply(p2);
  model::FlatParams s1(net.layout(), p1), s2(net.layout(), p2);
  const auto out2 = net.forward(s2, x, b);
  std::copy(out2.begin(), out2.end(), f2.begin());
  const auto out1 = net.forward(s1, x, b);
  double J = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const float d = out1[i] - f2[i];
    J += static_cast<double>(d) * d;
    dl[i] = 2.0f * d;
  }
  // dJ/dm_j = theta_j dJ/dp1_j + (theta_j + eps Delta_j) dJ/dp2_j (p = weights ⊙ m).
  net.backward(s1, dl, g);
  for (const auto& v : net.layout().vars())
    if (v.is_weight())
      for (std::size_t j = v.offset; j < v.offset + v.size; ++j) acc[j] += static_cast<double>(g[j]) * theta[j];
  net.forward(s2, x, b);
  for (float& d : dl) d = -d;
  net.backward(s2, dl, g);
  for (const auto& v : net.layout().vars())
    if (v.is_weight())
      for (std::size_t j = v.offset; j < v.offset + v.size; ++j)
        acc[j] += static_cast<double>(g[j]) * (theta[j] + e * delta[j]);
  return J;
}

NtkPhase::NtkPhase(std::shared_ptr<PruneState> state, model::Network& net, std::uint64_t seed, int batch)
    : state_(std::move(state)), net_(&net), seed_(seed), batch_(batch) {
  layer_density_.resize(net.layout().num_vars());
  layer_saliency_.resize(net.layout().num_vars());
}

double NtkPhase::estimate(int iteration, const data::ExampleView& data, std::span<const float>, Rng& rng,
                          std::span<float> out) {
  const model::ParamLayout& layout = net_->layout();
  const std::size_t P = layout.size();
  const int d = net_->input_size();
  const bool noise = state_->cfg.ntk_input == NtkInput::kNoise;
  const int b = noise ? batch_ : static_cast<int>(std::min<std::int64_t>(batch_, data.n));
  expects(b > 0, "ntk: client without examples");
  x_.resize(static_cast<std::size_t>(b) * static_cast<std::size_t>(d));
  if (noise) {
    for (float& v : x_) v = static_cast<float>(rng.normal());  // the client's own inputs
  } else {
    std::vector<std::int32_t> order(static_cast<std::size_t>(data.n));
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(std::span<std::int32_t>(order));
    for (int i = 0; i < b; ++i)
      std::memcpy(x_.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(d),
                  data.x + static_cast<std::int64_t>(order[static_cast<std::size_t>(i)]) * d,
                  sizeof(float) * static_cast<std::size_t>(d));
  }
  theta_.resize(P);
  delta_.assign(P, 0.0f);
  acc_.assign(P, 0.0);
  double J = 0.0;
  const auto t = static_cast<std::uint64_t>(iteration);
  for (int r = 0; r < state_->cfg.ntk_resamples; ++r) {
    // theta_r and Delta_r from server seeds: every client scores the same networks.
    Rng init(seed_, Purpose::kPrune, kThetaKey | t, static_cast<std::uint64_t>(r));
    net_->init(theta_, init);
    Rng pert(seed_, Purpose::kPrune, kDeltaKey | t, static_cast<std::uint64_t>(r));
    for (const auto& v : layout.vars())
      if (v.is_weight())
        for (std::size_t j = v.offset; j < v.offset + v.size; ++j) delta_[j] = static_cast<float>(pert.normal());
    J += ntk_mask_gradient(*net_, state_->mask, theta_, delta_, kNtkEpsilon, x_.data(), b, acc_);
  }
  for (std::size_t j = 0; j < P; ++j) out[j] = state_->mask.kept(j) ? static_cast<float>(std::fabs(acc_[j])) : 0.0f;
  for (const auto& v : layout.vars())
    if (!v.is_weight()) std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(v.offset), v.size, 0.0f);
  return J / (kNtkEpsilon * kNtkEpsilon * state_->cfg.ntk_resamples);
}

void NtkPhase::finish(int iteration, std::span<const double> mean, std::int64_t clients, double statistic,
                      std::span<float>) {
  if (clients == 0)
    throw ConfigError("prune.method", "ntk: no sampled client could score the weights in iteration " +
                                          std::to_string(iteration) + " (all dropped or over budget)");
  const double T = state_->cfg.ntk_iterations;
  const double density = std::pow(1.0 - state_->cfg.sparsity, (iteration + 1) / T);
  const model::ParamLayout& layout = net_->layout();
  for (std::size_t i = 0; i < layout.num_vars(); ++i) {
    const auto& v = layout.var(i);
    double mass = 0.0;
    for (std::size_t j = v.offset; j < v.offset + v.size; ++j) mass += mean[j];
    layer_saliency_[i].push_back(mass);
  }
  state_->mask.keep_top(mean, density);
  for (std::size_t i = 0; i < layout.num_vars(); ++i) layer_density_[i].push_back(state_->mask.density_of(i));
  trace_.push_back(statistic);
  clients_.push_back(static_cast<double>(clients));
  density_.push_back(1.0 - state_->mask.weight_sparsity());  // of the prunable weights
}

std::vector<fl::PhaseSeries> NtkPhase::series() const {
  std::vector<fl::PhaseSeries> out = {{"/ntk/trace", trace_}, {"/ntk/clients", clients_}, {"/ntk/density", density_}};
  const model::ParamLayout& layout = net_->layout();
  for (std::size_t i = 0; i < layout.num_vars(); ++i) {
    if (!layout.var(i).is_weight()) continue;
    out.push_back({"/ntk/layer_density/" + layout.var(i).name, layer_density_[i]});
    out.push_back({"/ntk/layer_saliency/" + layout.var(i).name, layer_saliency_[i]});
  }
  return out;
}

}  // namespace fedhpc::prune
