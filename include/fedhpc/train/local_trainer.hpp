#pragma once
/// Local training of one client, behind a small interface; one instance per
/// rank owns the resident working buffers and is reused for every client.
#include <cstdint>
#include <memory>
#include <span>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/core/memory_breakdown.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/model/network.hpp"

namespace fedhpc::train {

/// What a local run reports.
struct LocalResult {
  double loss_sum = 0.0;          ///< sum of per-example training losses over all steps
  std::int64_t examples_seen = 0; ///< examples processed (with repetition over epochs)
  std::int64_t steps = 0;         ///< optimizer steps taken
};

/// Trains one client at a time.
class LocalTrainer {
 public:
  virtual ~LocalTrainer() = default;
  /// Starts from `global`, trains on `data`, leaves the client model in `local`
  /// (both layout().size()). `rng` is the client's keyed stream for the round.
  virtual LocalResult train(std::span<const float> global, std::span<float> local,
                            const data::ExampleView& data, Rng& rng) = 0;
  /// Modelled peak device memory of this client's step.
  virtual MemoryBreakdown peak_memory(std::int64_t num_samples) const = 0;
  /// FLOPs of this client's local step.
  virtual double flops(std::int64_t num_samples) const = 0;
};

/// Builds the trainer for cfg on `net` (reserved for client.batch_size or more).
std::unique_ptr<LocalTrainer> make_trainer(const RunConfig& cfg, model::Network& net);

}  // namespace fedhpc::train
