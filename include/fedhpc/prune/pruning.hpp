#pragma once
/// The one registration of the pruning methods ([prune] method): what each
/// plugs into the seams (docs/design.md, "Seams").
///
///   method     client store                 server stage                 phase
///   feddip     MaskedStore, dense update    ERK start, re-prune on        -
///              (+ regularizer)              the schedule (code / dpf)
///   magnitude  MaskedStore, frozen          the same, lambda 0            -
///   snip       MaskedStore, frozen          fixed mask                    SnipPhase
///   random     MaskedStore, frozen          fixed random mask at s_p      -
///   ntk        MaskedStore, frozen          fixed mask                    NtkPhase
#include <memory>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/fl/estimate_phase.hpp"
#include "fedhpc/fl/server_stage.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/prune/prune_state.hpp"
#include "fedhpc/train/param_store.hpp"

namespace fedhpc::prune {

/// The parts of one run's pruning method.
struct Pruning {
  std::shared_ptr<PruneState> state;
  std::unique_ptr<fl::ServerStage> stage;
  std::unique_ptr<fl::EstimatePhase> phase;  ///< null: none
  /// Wraps the client's parameter store in the method's mask.
  std::unique_ptr<train::ParamStore> wrap(std::unique_ptr<train::ParamStore> inner) const;
  bool dense_update = false;  ///< FedDIP: pruned coordinates keep moving
  bool dense_upload = false;  ///< dpf_server: clients send their dense w
};

/// Null for prune.method = none. One switch over the method.
std::unique_ptr<Pruning> make_pruning(const RunConfig& cfg, model::Network& net);

}  // namespace fedhpc::prune
