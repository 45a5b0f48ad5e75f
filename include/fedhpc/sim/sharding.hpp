#pragma once
/// Static client-to-rank assignment balancing the clients' total cost.
#include <cstdint>
#include <span>
#include <vector>

namespace fedhpc::sim {

/// Owner rank of every client, given each client's cost (training samples, or
/// its step's modelled FLOPs): longest-processing-time greedy (costliest client
/// first, to the least-loaded rank; ties to the lower rank). Deterministic.
std::vector<int> assign_clients(std::span<const std::int64_t> sizes, int num_ranks);

}  // namespace fedhpc::sim
