#pragma once
/// The state one pruning method shares between its client side (the masked
/// store) and its server side (stage, phase): the mask and the round's
/// regularization. Identical on every rank.
#include "fedhpc/config/run_config.hpp"
#include "fedhpc/prune/mask.hpp"

namespace fedhpc::prune {

/// Mask and schedule position of a run.
struct PruneState {
  PruneState(const model::ParamLayout& layout, const PruneSection& section, int total_rounds)
      : mask(layout), cfg(section), rounds(total_rounds) {}
  Mask mask;
  PruneSection cfg;
  int rounds;         ///< T of the schedules
  double lambda = 0;  ///< regularization of the current round (FedDIP)
};

}  // namespace fedhpc::prune
