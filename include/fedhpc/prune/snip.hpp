#pragma once
/// SNIP (Lee et al. 2019) as a federated estimate before the rounds: each
/// client of the round-0 sample scores every weight by |dL/dm_j| at m = 1,
/// i.e. |g_j w_j| with g the cross-entropy gradient on one minibatch of its
/// own data (client.batch_size examples, keyed order) at the initial model;
/// the ranks reduce the sample-weighted mean score exactly, and the server
/// keeps the top 1 - s_p of the prunable weights (biases always kept).
#include <memory>
#include <vector>

#include "fedhpc/fl/estimate_phase.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/prune/prune_state.hpp"

namespace fedhpc::prune {

/// |g ⊙ w| of one minibatch into out (P); biases score 0. Uses net's buffers.
void snip_saliency(model::Network& net, std::span<const float> w, const data::ExampleView& data,
                   int batch, Rng& rng, std::span<float> out);

/// The one-shot SNIP phase.
class SnipPhase final : public fl::EstimatePhase {
 public:
  SnipPhase(std::shared_ptr<PruneState> state, model::Network& net, int batch);
  const char* name() const override { return "snip"; }
  int iterations() const override { return 1; }
  double estimate(int iteration, const data::ExampleView& data, std::span<const float> model, Rng& rng,
                  std::span<float> out) override;
  void finish(int iteration, std::span<const double> mean, std::int64_t clients, double statistic,
              std::span<float> model) override;

 private:
  std::shared_ptr<PruneState> state_;
  model::Network* net_;
  int batch_;
};

}  // namespace fedhpc::prune
