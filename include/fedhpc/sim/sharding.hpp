#pragma once
/// Static client-to-rank assignment balancing total training samples.
#include <cstdint>
#include <span>
#include <vector>

namespace fedhpc::sim {

/// Owner rank of every client: longest-processing-time greedy (largest client
/// first, to the least-loaded rank; ties to the lower rank). Deterministic.
std::vector<int> assign_clients(std::span<const std::int64_t> sizes, int num_ranks);

}  // namespace fedhpc::sim
