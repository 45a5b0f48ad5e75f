#pragma once
/// This rank's share of the clients: who owns each client, the clients'
/// memory budgets, and the classify-then-train loop that every pass over a
/// round's clients reuses (docs/design.md, "Seams"), including the per-round
/// balance of the clients a round trains across the ranks (run.balance).
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/config/run_config.hpp"
#include "fedhpc/core/memory_breakdown.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/sim/records.hpp"
#include "fedhpc/sim/uplink.hpp"
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
  int worker = 0;               ///< the rank that visits it this round
  data::ExampleView examples;   ///< its training examples (set for a trained client when visited)
};

/// Owners, budgets and the client loop of this rank.
class ClientShard {
 public:
  /// A client's visit beyond its step's FLOPs (copying the model in and
  /// out, forming and sending the update, adding it to the exact sum), in
  /// FLOP-equivalents per model parameter. Measured on the default
  /// experiment at np 1 (median train seconds, --client.steps 1 vs 10): 0.63 ms per
  /// client against 0.24 ms per 37-MFLOP step of LeNet-5 (61,706
  /// parameters), about 1,500 FLOPs per parameter (docs/performance.md).
  static constexpr double kOverheadFlopsPerParam = 1500.0;

  /// Balances clients over comm's ranks by the modelled cost of their visit,
  /// trainer->flops_within(samples, budget) plus the overhead above for
  /// model_params parameters (sharding.hpp): by training samples when no
  /// trainer is given.
  ClientShard(data::FederatedDataset& data, const RunConfig& cfg, const comm::Communicator& comm,
              const train::LocalTrainer* trainer = nullptr, std::size_t model_params = 0);
  /// This rank's clients, ascending.
  std::span<const int> own() const noexcept { return own_; }
  int owner(int client) const { return owner_[static_cast<std::size_t>(client)]; }
  std::uint64_t budget(int client) const { return budget_[static_cast<std::size_t>(client)]; }
  /// Under run.balance = round, no rank sends more than this many of its
  /// clients away in a round, and none trains more of other ranks' clients.
  static constexpr std::size_t kMaxMovesPerRank = 8;
  /// The most clients of other ranks one rank trains (or of its own it
  /// sends away) in a round: kMaxMovesPerRank, 0 unless run.balance = round.
  std::size_t max_guests() const noexcept { return max_moves_; }

  /// Classifies every sampled client the same way on every rank (budget,
  /// dropout, memory; the round's counts go into rec, so they need no
  /// communication), chooses the rank that trains each (its owner; under
  /// run.balance = round, balance_round by modelled cost), moves the
  /// examples and the uplink state (`state`, may be null) of the clients
  /// that train away from home there, calls visit(const ClientVisit&) for
  /// the clients this rank visits, in sampled order, and moves their state
  /// home again. Collective. state_bytes is a client's persistent uplink
  /// state; bytes_down(client) what sending it the model costs (called for
  /// every client that receives it, on every rank).
  /// Returns the number of clients to be trained (all ranks).
  template <class Visit>
  std::int64_t for_each(int round, std::span<const int> sampled, const train::LocalTrainer& trainer,
                        std::uint64_t state_bytes, const DownlinkCost& bytes_down, RoundRecord& rec,
                        Uplink* state, Visit&& visit) {
    std::vector<ClientVisit> visits;
    visits.reserve(sampled.size());
    std::int64_t trained = 0;
    for (std::size_t i = 0; i < sampled.size(); ++i) {
      visits.push_back(classify(round, i, sampled[i], trainer, state_bytes, bytes_down, rec));
      trained += visits.back().status == ClientStatus::kCompleted ? 1 : 0;
    }
    const bool moved = place(visits, state);
    for (ClientVisit& v : visits) {
      if (v.worker != rank_) continue;
      if (v.status == ClientStatus::kCompleted) v.examples = examples(v.client);
      visit(static_cast<const ClientVisit&>(v));
    }
    if (moved) send_home(visits, state);
    return trained;
  }

 private:
  ClientVisit classify(int round, std::size_t index, int client, const train::LocalTrainer& trainer,
                       std::uint64_t state_bytes, const DownlinkCost& bytes_down, RoundRecord& rec) const;
  /// Sets every visit's worker; moves the examples and state of the clients
  /// that train away from home. Returns whether any client moved (same on every rank).
  bool place(std::vector<ClientVisit>& visits, Uplink* state);
  /// Moves the guests' state back to their owners and forgets the guests.
  void send_home(const std::vector<ClientVisit>& visits, Uplink* state);
  /// A client's examples: from the dataset for an own client, else from the guests.
  data::ExampleView examples(int client);

  data::FederatedDataset* data_;
  const comm::Communicator* comm_;
  std::uint64_t seed_;
  ClientSection client_cfg_;
  int rank_;
  double overhead_;                    // a visit's cost beyond its step, FLOP-equivalents
  std::size_t max_moves_ = 0;          // moves per rank and round, each way (0: static placement)
  std::vector<int> owner_;             // (num_clients) rank of each client
  std::vector<std::uint64_t> budget_;  // (num_clients) bytes
  std::vector<int> own_;               // this rank's clients, ascending
  struct Guest {
    int client;
    std::size_t row, rows;  // its examples in guest_x_ / guest_y_
  };
  std::vector<Guest> guests_;          // this round's clients of other ranks
  std::vector<float> guest_x_;
  std::vector<std::int32_t> guest_y_;
};

}  // namespace fedhpc::sim
