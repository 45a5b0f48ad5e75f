#include "fedhpc/sim/client_shard.hpp"

#include <algorithm>
#include <cmath>

#include "fedhpc/sim/memory_budget.hpp"
#include "fedhpc/sim/sampler.hpp"
#include "fedhpc/sim/sharding.hpp"

namespace fedhpc::sim {

ClientShard::ClientShard(const data::FederatedDataset& data, const RunConfig& cfg,
                         const comm::Communicator& comm, const train::LocalTrainer* trainer)
    : data_(&data), seed_(cfg.run.seed), client_cfg_(cfg.client), rank_(comm.rank()) {
  const int n = data.num_clients();
  budget_.resize(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) budget_[static_cast<std::size_t>(c)] = memory_budget(cfg.client, seed_, c);
  // A client's weight: the modelled cost of its step (a fixed number of steps
  // costs the same whatever the client's size), at least 1.
  std::vector<std::int64_t> cost(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) {
    const auto i = static_cast<std::size_t>(c);
    const std::int64_t samples = data.num_samples(c);
    cost[i] = trainer ? std::max<std::int64_t>(1, std::llround(trainer->flops_within(samples, budget_[i]) / 1e3))
                      : samples;
  }
  owner_ = assign_clients(cost, comm.size());
  for (int c = 0; c < n; ++c)
    if (owner_[static_cast<std::size_t>(c)] == rank_) own_.push_back(c);
}

ClientVisit ClientShard::classify(int round, std::size_t index, int client,
                                  const train::LocalTrainer& trainer, std::uint64_t state_bytes,
                                  const DownlinkCost& bytes_down, RoundRecord& rec) const {
  ClientVisit v;
  v.index = index;
  v.client = client;
  v.samples = data_->num_samples(client);
  v.budget = budget(client);
  v.memory = trainer.peak_memory_within(v.samples, v.budget - std::min<std::uint64_t>(v.budget, state_bytes));
  v.memory.state = state_bytes;
  v.over_budget = v.memory.total() > v.budget;
  const bool dropped = drops_out(seed_, round, client, client_cfg_.dropout);
  if (v.over_budget && client_cfg_.over_budget == OverBudget::kSkip) v.status = ClientStatus::kOverBudget;
  else if (dropped) v.status = ClientStatus::kDropped;
  rec.clients_over_budget += v.over_budget ? 1 : 0;
  rec.clients_dropped += v.status == ClientStatus::kDropped ? 1 : 0;
  rec.peak_memory_max = std::max<std::int64_t>(rec.peak_memory_max, static_cast<std::int64_t>(v.memory.total()));
  // The model goes to every client that was asked and fits its budget.
  v.bytes_down = v.status == ClientStatus::kOverBudget ? 0 : bytes_down(client);
  rec.bytes_down += v.bytes_down;
  v.flops = v.status == ClientStatus::kCompleted
                ? trainer.flops_within(v.samples, v.budget - std::min<std::uint64_t>(v.budget, state_bytes))
                : 0.0;
  rec.flops += v.flops;
  return v;
}

}  // namespace fedhpc::sim
