#include "fedhpc/prune/pruning.hpp"

#include "fedhpc/core/error.hpp"
#include "fedhpc/prune/masked_store.hpp"
#include "fedhpc/prune/ntk.hpp"
#include "fedhpc/prune/prune_stage.hpp"
#include "fedhpc/prune/snip.hpp"

namespace fedhpc::prune {

std::unique_ptr<train::ParamStore> Pruning::wrap(std::unique_ptr<train::ParamStore> inner) const {
  return std::make_unique<MaskedStore>(std::move(inner), state,
                                       dense_update ? MaskedStore::Update::kDense : MaskedStore::Update::kFrozen,
                                       dense_upload);
}

std::unique_ptr<Pruning> make_pruning(const RunConfig& cfg, model::Network& net) {
  const PruneSection& p = cfg.prune;
  if (p.method == PruneMethod::kNone) return nullptr;
  auto out = std::make_unique<Pruning>();
  out->state = std::make_shared<PruneState>(net.layout(), p, cfg.server.rounds);
  const std::uint64_t seed = cfg.run.seed;
  switch (p.method) {
    case PruneMethod::kFedDip:
      out->dense_update = true;
      out->dense_upload = p.mode == PruneMode::kDpfServer;
      out->stage = std::make_unique<PruneStage>(out->state, true, seed);
      break;
    case PruneMethod::kMagnitude:
      out->stage = std::make_unique<PruneStage>(out->state, true, seed);
      break;
    case PruneMethod::kSnip:
      out->stage = std::make_unique<PruneStage>(out->state, false, seed);
      out->phase = std::make_unique<SnipPhase>(out->state, net, cfg.client.batch_size);
      break;
    case PruneMethod::kNtk:
      out->stage = std::make_unique<PruneStage>(out->state, false, seed);
      out->phase = std::make_unique<NtkPhase>(out->state, net, seed, cfg.client.batch_size);
      break;
    case PruneMethod::kRandom: {
      Rng rng(seed, Purpose::kPrune, 0, 1);
      out->state->mask.set_random(1.0 - p.sparsity, rng);
      out->stage = std::make_unique<PruneStage>(out->state, false, seed);
      break;
    }
    case PruneMethod::kNone: break;
  }
  return out;
}

}  // namespace fedhpc::prune
