#pragma once
/// Server optimizers (Reddi et al., "Adaptive Federated Optimization").
/// The pseudo-gradient is the sample-weighted mean client update
/// delta = sum_k n_k (w_k - w) / sum_k n_k; every rank applies the same step.
///   FedAvg:  w += lr * delta
///   FedAvgM: m = beta * m + delta;  w += lr * m
///   FedAdam: m = b1 m + (1-b1) delta;  v = b2 v + (1-b2) delta^2;  w += lr m / (sqrt(v) + tau)
///   FedYogi: as FedAdam with v -= (1-b2) delta^2 sign(v - delta^2)
#include <memory>
#include <span>
#include <vector>

#include "fedhpc/config/run_config.hpp"

namespace fedhpc::sim {

/// Applies one server step to the fp32 master model.
class ServerOptimizer {
 public:
  virtual ~ServerOptimizer() = default;
  /// model (P) += step computed from delta (P).
  virtual void step(std::span<float> model, std::span<const double> delta) = 0;
  /// Persistent optimizer state (for checkpoints); empty for FedAvg.
  virtual std::span<float> state() { return {}; }
};

/// Builds the optimizer named by cfg.optimizer for a model of `size` parameters.
std::unique_ptr<ServerOptimizer> make_server_optimizer(const ServerSection& cfg, std::size_t size);

}  // namespace fedhpc::sim
