#pragma once
/// A phase before the rounds that federates an estimate (SNIP saliency now,
/// NTK saliency next): in each iteration the sampled clients each compute a
/// vector of the model's size from their own data, the ranks reduce the
/// sample-weighted mean exactly (any rank count gives the same bits), and
/// the method turns it into state (a mask) or a new model. The simulator
/// runs it over the client shard's classify-then-train loop.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/core/rng.hpp"
#include "fedhpc/data/dataset.hpp"

namespace fedhpc::fl {

/// A float64 series a phase reports once, written to the results file at its
/// creation (e.g. "/ntk/trace", one value per iteration).
struct PhaseSeries {
  std::string path;
  std::vector<double> values;
};

/// One federated estimate, repeated iterations() times.
class EstimatePhase {
 public:
  virtual ~EstimatePhase() = default;
  /// Name for progress lines.
  virtual const char* name() const = 0;
  /// Number of iterations (each over the clients sampled for "round" = iteration).
  virtual int iterations() const = 0;
  /// A client's estimate at `model` from its data into out (P); rng is keyed
  /// by (seed, prune, iteration, client). Returns a client statistic (e.g.
  /// its NTK trace estimate) that the ranks sum exactly.
  virtual double estimate(int iteration, const data::ExampleView& data, std::span<const float> model,
                          Rng& rng, std::span<float> out) = 0;
  /// The sample-weighted mean estimate over the `clients` that took part and
  /// the sum of their statistics (identical on every rank); may rewrite the
  /// server model (P).
  virtual void finish(int iteration, std::span<const double> mean, std::int64_t clients, double statistic,
                      std::span<float> model) = 0;
  /// Series to write to the results file (once, when it is created).
  virtual std::vector<PhaseSeries> series() const { return {}; }
};

}  // namespace fedhpc::fl
