#pragma once
/// Federated validation (fl::Validation) over the fixed sample
/// validation_clients(seed): each client evaluates the model on its own
/// training examples in batches of at most kEvalBatch, the owning rank adds
/// its clients' correct counts and fixed-point loss sums, and one exact
/// allreduce combines the ranks, so every rank count gives the same bits.
/// Memory budgets and dropout do not apply (evaluation needs no training state).
#include <cstdint>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/fl/posttrain_phase.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/sim/client_shard.hpp"

namespace fedhpc::sim {

class FederatedValidation final : public fl::Validation {
 public:
  FederatedValidation(const comm::Communicator& comm, data::FederatedDataset& data, model::Network& net,
                      const ClientShard& shard, std::uint64_t seed, int clients);
  fl::ValidationScore evaluate(std::span<const float> model) override;
  void gradient(std::span<const float> model, std::span<double> out) override;
  std::int64_t evaluations() const override { return evaluations_; }
  /// The validation clients (all ranks) and their examples in total.
  const std::vector<int>& clients() const noexcept { return clients_; }
  std::int64_t examples() const noexcept { return examples_; }

 private:
  const comm::Communicator* comm_;
  data::FederatedDataset* data_;
  model::Network* net_;
  std::vector<int> clients_;  // all validation clients
  std::vector<int> mine_;     // those this rank owns
  std::int64_t examples_ = 0;
  std::int64_t evaluations_ = 0;
  std::uint64_t seed_;
};

}  // namespace fedhpc::sim
