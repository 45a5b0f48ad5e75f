#pragma once
/// Server stages: an ordered chain run around the server optimizer step
/// (server error feedback today; FedDIP re-pruning, GWK snapping and
/// zeroth-order clipping plug in here).
#include <cstdint>
#include <span>

#include "fedhpc/fl/component.hpp"

namespace fedhpc::fl {

/// One stage. Every rank runs the same stages on the same data.
class ServerStage : public Component {
 public:
  /// Once before the first round of a new run (not on resume): may set up
  /// state from, and rewrite, the initial server model (P).
  virtual void start(std::span<float> model) {}
  /// The model clients receive and the test set sees, if this stage changes
  /// it (e.g. w ⊙ m when the server keeps a dense model): writes it to out (P)
  /// and returns true; false = the server model itself.
  virtual bool publish(std::span<const float> model, std::span<float> out) const { return false; }
  /// Before the optimizer step: may rewrite the round's mean update delta (P).
  virtual void before_step(int round, std::span<double> delta) {}
  /// After the optimizer step: may rewrite the server model (P).
  virtual void after_step(int round, std::span<float> model) {}
  /// Bytes of the global update this stage made the server send this round
  /// (0 if it does not change what is broadcast).
  virtual std::int64_t update_bytes() const { return 0; }
  /// Downlink bytes of `client`, which receives the model in `round` and
  /// would otherwise get `model_bytes` (called once per such client and
  /// round on every rank, in sampling order; the stage may record the visit).
  virtual std::int64_t downlink_bytes(int round, int client, std::int64_t model_bytes) { return model_bytes; }
};

}  // namespace fedhpc::fl
