#pragma once
/// Local training of one client, behind a small interface; one instance per
/// rank owns the resident working buffers and is reused for every client.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/core/memory_breakdown.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/fl/client_upload.hpp"
#include "fedhpc/fl/component.hpp"
#include "fedhpc/model/network.hpp"

namespace fedhpc::train {

class ParamStore;

/// The keyed random streams of one client's local run, one per use, so that
/// two runs that differ only in how parameters are stored or updates are
/// sent see the same batches: compression draws from its own streams.
struct ClientStreams {
  ClientStreams(std::uint64_t seed, int round, int client) noexcept
      : order(seed, Purpose::kShuffle, static_cast<std::uint64_t>(round), static_cast<std::uint64_t>(client)),
        rounding(seed, Purpose::kClientRounding, static_cast<std::uint64_t>(round),
                 static_cast<std::uint64_t>(client)),
        directions(seed, Purpose::kDirections, static_cast<std::uint64_t>(round),
                   static_cast<std::uint64_t>(client)) {}
  Rng order;       ///< minibatch order
  Rng rounding;    ///< stochastic re-encoding of stored parameters (OMC)
  Rng directions;  ///< seeds of zeroth-order perturbation directions
};

/// What a local run reports.
struct LocalResult {
  double loss_sum = 0.0;          ///< sum of per-example training losses over all steps
  std::int64_t examples_seen = 0; ///< examples processed (with repetition over epochs)
  std::int64_t steps = 0;         ///< optimizer steps taken
  /// The parameters left finite values behind (a quantizer would otherwise hide it).
  bool diverged = false;
};

/// Trains one client at a time.
class LocalTrainer {
 public:
  virtual ~LocalTrainer() = default;
  /// Prepares the round (e.g. encodes the downlink once) from the server model,
  /// which must stay unchanged until the round's clients are done.
  virtual void begin_round(int round, std::span<const float> global) = 0;
  /// Called before train() with the client's id, examples and the memory its
  /// device has for the step (mixed fleets choose the client's trainer here).
  virtual void prepare_client(int /*client*/, std::int64_t /*num_samples*/, std::uint64_t /*budget*/) {}
  /// Trains one client on `data` from the round's downlink, drawing from the
  /// client's streams.
  virtual LocalResult train(const data::ExampleView& data, ClientStreams& streams) = 0;
  /// What the client last trained sends (valid until the next train()).
  virtual fl::ClientUpload upload() const = 0;
  /// Modelled peak device memory of this client's step (valid after begin_round).
  virtual MemoryBreakdown peak_memory(std::int64_t num_samples) const = 0;
  /// The same for a client whose device has `budget` bytes for the step (a
  /// mixed fleet's choice depends on it).
  virtual MemoryBreakdown peak_memory_within(std::int64_t num_samples, std::uint64_t /*budget*/) const {
    return peak_memory(num_samples);
  }
  /// FLOPs of the step of a client whose device has `budget` bytes for it.
  virtual double flops_within(std::int64_t num_samples, std::uint64_t /*budget*/) const { return flops(num_samples); }
  /// Its series and counters, if it records any (mixed fleets), or null.
  virtual fl::Component* component() { return nullptr; }
  /// FLOPs of this client's local step.
  virtual double flops(std::int64_t num_samples) const = 0;
  /// Downlink message bytes per client (valid after begin_round).
  virtual std::int64_t downlink_bytes() const = 0;
  /// Fraction of weight parameters the round's downlink holds in fp32 (PPQ).
  virtual double fp32_weight_fraction() const { return 1.0; }
};

/// Builds the trainer of client.trainer for cfg on `net` (reserved for
/// client.batch_size or more) with the parameter store of [storage]
/// (train::make_param_store): SgdTrainer, ZoTrainer (zo, fedzo), or a
/// MixedTrainer of both (auto).
std::unique_ptr<LocalTrainer> make_trainer(const RunConfig& cfg, model::Network& net);
/// The same over a given parameter store (e.g. a method's decorator of it).
std::unique_ptr<LocalTrainer> make_trainer(const RunConfig& cfg, model::Network& net,
                                           std::unique_ptr<ParamStore> store);
/// The same with a store per trainer it builds (client.trainer = auto builds two).
std::unique_ptr<LocalTrainer> make_trainer(const RunConfig& cfg, model::Network& net,
                                           const std::function<std::unique_ptr<ParamStore>()>& make_store);

}  // namespace fedhpc::train
