#include "fedhpc/sim/federated_validation.hpp"

#include <algorithm>
#include <limits>

#include "fedhpc/comm/exact_sum.hpp"
#include "fedhpc/comm/round_aggregator.hpp"
#include "fedhpc/model/loss.hpp"
#include "fedhpc/sim/evaluator.hpp"
#include "fedhpc/sim/sampler.hpp"

namespace fedhpc::sim {

FederatedValidation::FederatedValidation(const comm::Communicator& comm, data::FederatedDataset& data,
                                         model::Network& net, const ClientShard& shard,
                                         std::uint64_t seed, int clients)
    : comm_(&comm), data_(&data), net_(&net), seed_(seed) {
  clients_ = validation_clients(seed, data.num_clients(), clients);
  for (int c : clients_) {
    examples_ += data.num_samples(c);
    if (shard.owner(c) == comm.rank()) mine_.push_back(c);
  }
}

fl::ValidationScore FederatedValidation::evaluate(std::span<const float> model) {
  ++evaluations_;
  model::FlatParams source(net_->layout(), model);
  EvalSums sums;
  for (int c : mine_) sums.add(*net_, source, data_->examples(c));  // each client from its first example
  const EvalResult r = sums.reduce(*comm_, examples_);
  return {r.accuracy, r.loss};
}

void FederatedValidation::gradient(std::span<const float> model, std::span<double> out) {
  const std::size_t P = model.size();
  const auto agg = comm::make_round_aggregator(comm::AggregatePath::kDense, P, 0, seed_, 0.0);
  agg->begin_round(0);
  model::FlatParams source(net_->layout(), model);
  const int d = net_->input_size(), classes = net_->num_classes();
  std::vector<float> g(P), chunk(P), dlogits(static_cast<std::size_t>(kEvalBatch) * classes);
  for (int c : mine_) {
    const data::ExampleView ex = data_->examples(c);
    std::fill(g.begin(), g.end(), 0.0f);
    for (std::int64_t b = 0; b < ex.n; b += kEvalBatch) {
      const int n = static_cast<int>(std::min<std::int64_t>(kEvalBatch, ex.n - b));
      const auto logits = net_->forward(source, ex.x + b * d, n);
      model::softmax_cross_entropy(logits, ex.y + b, n, classes, 1.0f / static_cast<float>(ex.n),
                                   std::span<float>(dlogits).first(static_cast<std::size_t>(n) * classes));
      net_->backward(source, std::span<const float>(dlogits).first(static_cast<std::size_t>(n) * classes), chunk);
      for (std::size_t j = 0; j < P; ++j) g[j] += chunk[j];
    }
    // A client whose gradient is not finite (or too large to sum exactly) is left out.
    if (comm::all_fit_weighted(g, ex.n)) agg->add(c, ex.n, {g, {}});
  }
  std::fill(out.begin(), out.end(), 0.0);
  agg->reduce(*comm_, static_cast<std::int64_t>(clients_.size()), out);
}

}  // namespace fedhpc::sim
