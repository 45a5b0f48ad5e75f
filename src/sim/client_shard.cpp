#include "fedhpc/sim/client_shard.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/sim/memory_budget.hpp"
#include "fedhpc/sim/sampler.hpp"
#include "fedhpc/sim/sharding.hpp"

namespace fedhpc::sim {

namespace {

template <class T>
void put(std::vector<std::byte>& out, const T* v, std::size_t n) {
  const auto at = out.size();
  out.resize(at + n * sizeof(T));
  if (n > 0) std::memcpy(out.data() + at, v, n * sizeof(T));
}

/// Reads n values of T at `at` of in, advancing it; throws if in is too short.
template <class T>
void take(std::span<const std::byte> in, std::size_t& at, T* v, std::size_t n) {
  expects(in.size() - at >= n * sizeof(T), "ClientShard: truncated client message");
  if (n > 0) std::memcpy(v, in.data() + at, n * sizeof(T));
  at += n * sizeof(T);
}

/// Appends [int64 bytes][the client's uplink state] (no state: 0 bytes).
void put_state(std::vector<std::byte>& out, const Uplink* state, int client) {
  std::vector<std::byte> st;
  if (state) state->pack_state(client, st);
  const auto bytes = static_cast<std::int64_t>(st.size());
  put(out, &bytes, 1);
  put(out, st.data(), st.size());
}

/// Reads what put_state wrote at `at` and installs it for client.
void take_state(std::span<const std::byte> in, std::size_t& at, Uplink* state, int client) {
  std::int64_t bytes = 0;
  take(in, at, &bytes, 1);
  expects(bytes >= 0 && in.size() - at >= static_cast<std::size_t>(bytes), "ClientShard: truncated client state");
  if (state) state->unpack_state(client, in.subspan(at, static_cast<std::size_t>(bytes)));
  at += static_cast<std::size_t>(bytes);
}

/// Calls read(message, position, id) for every record [int32 id][...] the
/// ranks sent here; read advances the position past the rest of the record.
template <class Read>
void each_record(const comm::Received& in, int ranks, Read&& read) {
  for (int r = 0; r < ranks; ++r) {
    const auto msg = in.from(r);
    std::size_t at = 0;
    while (at < msg.size()) {
      std::int32_t id = 0;
      take(msg, at, &id, 1);
      read(msg, at, id);
    }
  }
}

}  // namespace

ClientShard::ClientShard(data::FederatedDataset& data, const RunConfig& cfg,
                         const comm::Communicator& comm, const train::LocalTrainer* trainer,
                         std::size_t model_params)
    : data_(&data),
      comm_(&comm),
      seed_(cfg.run.seed),
      client_cfg_(cfg.client),
      rank_(comm.rank()),
      overhead_(kOverheadFlopsPerParam * static_cast<double>(model_params)) {
  const int n = data.num_clients();
  budget_.resize(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) budget_[static_cast<std::size_t>(c)] = memory_budget(cfg.client, seed_, c);
  // A client's weight: the modelled cost of its step (a fixed number of steps
  // costs the same whatever the client's size) and of its visit, at least 1.
  std::vector<std::int64_t> cost(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) {
    const auto i = static_cast<std::size_t>(c);
    const std::int64_t samples = data.num_samples(c);
    cost[i] = trainer ? std::max<std::int64_t>(
                            1, std::llround((trainer->flops_within(samples, budget_[i]) + overhead_) / 1e3))
                      : samples;
  }
  owner_ = assign_clients(cost, comm.size());
  for (int c = 0; c < n; ++c)
    if (owner_[static_cast<std::size_t>(c)] == rank_) own_.push_back(c);
  if (cfg.run.balance == Balance::kRound && comm.size() > 1) max_moves_ = kMaxMovesPerRank;
}

bool ClientShard::place(std::vector<ClientVisit>& visits, Uplink* state) {
  guests_.clear();
  guest_x_.clear();
  guest_y_.clear();
  for (ClientVisit& v : visits) v.worker = owner(v.client);
  if (max_moves_ == 0) return false;
  std::vector<int> home(visits.size());
  std::vector<double> cost(visits.size());
  for (std::size_t i = 0; i < visits.size(); ++i) {
    home[i] = visits[i].worker;
    cost[i] = visits[i].flops > 0.0 ? visits[i].flops + overhead_ : 0.0;
  }
  const std::vector<int> worker = balance_round(cost, home, comm_->size(), max_moves_);
  bool moved = false;
  for (std::size_t i = 0; i < visits.size(); ++i) {
    visits[i].worker = worker[i];
    moved = moved || worker[i] != home[i];
  }
  if (!moved) return false;
  // Each moved client: [int32 id][int64 rows][rows x features floats][rows int32 labels][state].
  const auto d = static_cast<std::size_t>(data_->input_shape().size());
  std::vector<std::vector<std::byte>> to(static_cast<std::size_t>(comm_->size()));
  for (const ClientVisit& v : visits) {
    if (v.worker == owner(v.client) || owner(v.client) != rank_) continue;
    auto& out = to[static_cast<std::size_t>(v.worker)];
    const data::ExampleView ex = data_->examples(v.client);
    const std::int32_t id = v.client;
    const std::int64_t rows = ex.n;
    put(out, &id, 1);
    put(out, &rows, 1);
    put(out, ex.x, static_cast<std::size_t>(rows) * d);
    put(out, ex.y, static_cast<std::size_t>(rows));
    put_state(out, state, v.client);
  }
  each_record(comm::exchange_bytes(*comm_, to), comm_->size(),
              [&](std::span<const std::byte> msg, std::size_t& at, std::int32_t id) {
                std::int64_t rows = 0;
                take(msg, at, &rows, 1);
                expects(rows >= 0, "ClientShard: negative example count");
                Guest g{id, guest_y_.size(), static_cast<std::size_t>(rows)};
                guest_x_.resize(guest_x_.size() + g.rows * d);
                guest_y_.resize(guest_y_.size() + g.rows);
                take(msg, at, guest_x_.data() + g.row * d, g.rows * d);
                take(msg, at, guest_y_.data() + g.row, g.rows);
                take_state(msg, at, state, id);
                guests_.push_back(g);
              });
  return true;
}

void ClientShard::send_home(const std::vector<ClientVisit>& visits, Uplink* state) {
  if (state == nullptr || state->device_state_bytes() == 0) return;
  // Each guest: [int32 id][int64 state bytes][state].
  std::vector<std::vector<std::byte>> to(static_cast<std::size_t>(comm_->size()));
  for (const ClientVisit& v : visits) {
    if (v.worker != rank_ || owner(v.client) == rank_) continue;
    auto& out = to[static_cast<std::size_t>(owner(v.client))];
    const std::int32_t id = v.client;
    put(out, &id, 1);
    put_state(out, state, v.client);
  }
  state->drop_guests();
  each_record(comm::exchange_bytes(*comm_, to), comm_->size(),
              [&](std::span<const std::byte> msg, std::size_t& at, std::int32_t id) {
                take_state(msg, at, state, id);
              });
}

data::ExampleView ClientShard::examples(int client) {
  if (owner(client) == rank_) return data_->examples(client);
  const auto d = static_cast<std::size_t>(data_->input_shape().size());
  for (const Guest& g : guests_)
    if (g.client == client)
      return {guest_x_.data() + g.row * d, guest_y_.data() + g.row, static_cast<std::int64_t>(g.rows)};
  throw InternalError("ClientShard: client " + std::to_string(client) + " is neither this rank's nor a guest");
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
