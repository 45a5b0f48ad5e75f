#pragma once
/// The hooks every pluggable part of a round shares (uplinks, server stages):
/// what it records and what it checkpoints. Every hook defaults to nothing.
#include "fedhpc/fl/metrics.hpp"
#include "fedhpc/fl/named_state.hpp"
#include "fedhpc/fl/round_tally.hpp"

namespace fedhpc::fl {

/// A part of the round with its own series, counters and state.
class Component {
 public:
  virtual ~Component() = default;
  /// Declares its series and reserves its tally slots (once, at set-up).
  virtual void declare(Metrics&, TallyLayout&) {}
  /// Records its values for this rank's client row `row` (client `client`),
  /// for every sampled client the rank owns, whatever the client's status.
  virtual void record_client(int client, std::size_t row, Metrics&) const {}
  /// Adds this rank's counters to the round tally, before the reduction.
  virtual void tally(RoundTally&) const {}
  /// Records its round values from the reduced tally (identical on every rank).
  virtual void record_round(const RoundTally&, Metrics&) const {}
  /// Adds its replicated state to a checkpoint.
  virtual void save(NamedState&) const {}
  /// Restores what save() wrote; throws ConfigError naming run.checkpoint if missing.
  virtual void load(const NamedState&) {}
  /// Adds its per-parameter flags to a /model snapshot (declared with
  /// Metrics::declare_snapshot), e.g. the pruning mask.
  virtual void snapshot(Metrics&) const {}
};

}  // namespace fedhpc::fl
