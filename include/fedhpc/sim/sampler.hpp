#pragma once
/// Which clients take part in a round: a pure function of (seed, round), so
/// every rank computes the same list without communication.
#include <cstdint>
#include <vector>

namespace fedhpc::sim {

/// k distinct clients out of n for `round`, ascending (Floyd's algorithm, O(k log k)).
std::vector<int> sample_clients(std::uint64_t seed, int round, int n, int k);

/// The fixed federated validation sample: k distinct clients out of n, ascending.
std::vector<int> validation_clients(std::uint64_t seed, int n, int k);

/// True if `client` drops out of `round` (probability p).
bool drops_out(std::uint64_t seed, int round, int client, double p);

}  // namespace fedhpc::sim
