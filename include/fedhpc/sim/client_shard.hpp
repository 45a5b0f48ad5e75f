#pragma once
/// This rank's share of the clients: who owns each client, the clients'
/// memory budgets, and the classify-then-train loop that every pass over a
/// round's clients reuses (docs/design.md, "Seams").
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/config/run_config.hpp"
#include "fedhpc/core/memory_breakdown.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/sim/records.hpp"
#include "fedhpc/train/local_trainer.hpp"

namespace fedhpc::sim {

/// Downlink bytes of sending the round's model to a client.
using DownlinkCost = std::function<std::int64_t(int client)>;

/// One sampled client as the loop classified it.
struct ClientVisit {
  std::size_t index = 0;        ///< position among the round's sampled clients
  int client = 0;               ///< client id
  std::int64_t samples = 0;     ///< its training examples
  ClientStatus status = ClientStatus::kCompleted;  ///< kCompleted: to be trained
  bool over_budget = false;     ///< modelled peak memory above the budget (whatever the policy)
  MemoryBreakdown memory;       ///< modelled peak memory of its step
  std::uint64_t budget = 0;     ///< its device budget (bytes)
  std::int64_t bytes_down = 0;  ///< downlink bytes it received
  double flops = 0.0;           ///< FLOPs of its step (0 unless trained)
};

/// Owners, budgets and the client loop of this rank.
class ClientShard {
 public:
  /// Balances clients over comm's ranks by the modelled cost of their step,
  /// trainer->flops_within(samples, budget) (sharding.hpp): by training
  /// samples when no trainer is given.
  ClientShard(const data::FederatedDataset& data, const RunConfig& cfg, const comm::Communicator& comm,
              const train::LocalTrainer* trainer = nullptr);
  /// This rank's clients, ascending.
  std::span<const int> own() const noexcept { return own_; }
  int owner(int client) const { return owner_[static_cast<std::size_t>(client)]; }
  std::uint64_t budget(int client) const { return budget_[static_cast<std::size_t>(client)]; }

  /// Classifies every sampled client the same way on every rank (budget,
  /// dropout, memory; the round's counts go into rec, so they need no
  /// communication) and calls visit(const ClientVisit&) for the clients this
  /// rank owns, in order. state_bytes is a client's persistent uplink state;
  /// bytes_down(client) what sending it the model costs (called for every
  /// client that receives it, on every rank).
  /// Returns the number of clients to be trained (all ranks).
  template <class Visit>
  std::int64_t for_each(int round, std::span<const int> sampled, const train::LocalTrainer& trainer,
                        std::uint64_t state_bytes, const DownlinkCost& bytes_down, RoundRecord& rec,
                        Visit&& visit) const {
    std::int64_t trained = 0;
    for (std::size_t i = 0; i < sampled.size(); ++i) {
      const ClientVisit v = classify(round, i, sampled[i], trainer, state_bytes, bytes_down, rec);
      trained += v.status == ClientStatus::kCompleted ? 1 : 0;
      if (owner(v.client) == rank_) visit(v);
    }
    return trained;
  }

 private:
  ClientVisit classify(int round, std::size_t index, int client, const train::LocalTrainer& trainer,
                       std::uint64_t state_bytes, const DownlinkCost& bytes_down, RoundRecord& rec) const;
  const data::FederatedDataset* data_;
  std::uint64_t seed_;
  ClientSection client_cfg_;
  int rank_;
  std::vector<int> owner_;             // (num_clients) rank of each client
  std::vector<std::uint64_t> budget_;  // (num_clients) bytes
  std::vector<int> own_;               // this rank's clients, ascending
};

}  // namespace fedhpc::sim
