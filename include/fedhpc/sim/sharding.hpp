#pragma once
/// Client-to-rank placement: the static shard (who holds a client's examples
/// and state) and the per-round balance of the clients a round trains.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace fedhpc::sim {

/// Owner rank of every client, given each client's cost (training samples, or
/// its step's modelled FLOPs): longest-processing-time greedy (costliest client
/// first, to the least-loaded rank; ties to the lower rank). Deterministic.
std::vector<int> assign_clients(std::span<const std::int64_t> sizes, int num_ranks);

/// The rank that trains each of a round's clients (run.balance = round):
/// every client starts on its home rank; then, while the most loaded rank is
/// more than `tolerance` (relative) above the mean load, the client of the
/// most loaded rank whose cost is nearest half the gap to the least loaded
/// rank (and below the gap, so the larger load falls) moves there, as long
/// as no rank sends more than `cap` of its clients away and none trains more
/// than `cap` clients of others (a bound on the memory moved clients take).
/// Ties: the lower rank, the earlier client. Clients of cost 0 (not trained)
/// stay home. Every move lowers the sum of squared loads, so it ends; the
/// result depends on its inputs alone (the same on every rank).
std::vector<int> balance_round(std::span<const double> cost, std::span<const int> home, int num_ranks,
                               std::size_t cap, double tolerance = 0.01);

}  // namespace fedhpc::sim
