#pragma once
/// Federated NTK foresight pruning (NTK-SAP, Wang et al. 2023, as federated by
/// Zhang et al. 2024; ../shared/METHODS.md §3): before the rounds, for
/// prune.ntk_iterations iterations, each sampled client scores every weight by
///   S_j = | sum_r dJ_r / dm_j |,  J_r = sum_n || f(x_n; theta_r ⊙ m) - f(x_n; (theta_r + eps Delta_r) ⊙ m) ||^2
/// over prune.ntk_resamples re-initialisations theta_r (the network's own
/// init) and weight perturbations Delta_r ~ N(0, I) (weights only), both from
/// server seeds shared by all clients, eps = 0.01, on inputs x that are N(0, 1)
/// noise drawn by the client (ntk_input = noise, data-free) or a minibatch of
/// its own data (ntk_input = data); J_r / eps^2 estimates the trace of the
/// network's NTK over those inputs. The ranks reduce the sample-weighted mean
/// saliency exactly and the server keeps the global top (1 - s_p)^(t / T) of
/// the weights; pruned weights score 0 and stay pruned. Training then starts
/// from the run's own initial model under the mask.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fedhpc/fl/estimate_phase.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/prune/prune_state.hpp"

namespace fedhpc::prune {

/// Perturbation scale eps of NTK-SAP.
inline constexpr double kNtkEpsilon = 0.01;

/// dJ/dm at m = mask for given theta and Delta (weights; P each) on x (b
/// inputs), added to acc (P, weights only); returns J. Uses net's buffers.
double ntk_mask_gradient(model::Network& net, const Mask& mask, std::span<const float> theta,
                         std::span<const float> delta, double eps, const float* x, int b,
                         std::span<double> acc);

/// The federated NTK-SAP phase.
class NtkPhase final : public fl::EstimatePhase {
 public:
  NtkPhase(std::shared_ptr<PruneState> state, model::Network& net, std::uint64_t seed, int batch);
  const char* name() const override { return "ntk"; }
  int iterations() const override { return state_->cfg.ntk_iterations; }
  double estimate(int iteration, const data::ExampleView& data, std::span<const float> model, Rng& rng,
                  std::span<float> out) override;
  void finish(int iteration, std::span<const double> mean, std::int64_t clients, double statistic,
              std::span<float> model) override;
  std::vector<fl::PhaseSeries> series() const override;

 private:
  std::shared_ptr<PruneState> state_;
  model::Network* net_;
  std::uint64_t seed_;
  int batch_;
  std::vector<float> theta_, delta_, x_;
  std::vector<double> acc_;
  // Per iteration: trace sum, clients, density; per layer: density, saliency mass.
  std::vector<double> trace_, clients_, density_;
  std::vector<std::vector<double>> layer_density_, layer_saliency_;
};

}  // namespace fedhpc::prune
