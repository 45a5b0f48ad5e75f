#pragma once
/// Device memory budget of each client, drawn once per client from its keyed stream.
#include <cstdint>

#include "fedhpc/config/run_config.hpp"

namespace fedhpc::sim {

/// Budget in bytes of `client` under cfg.budget (fixed, uniform, lognormal).
std::uint64_t memory_budget(const ClientSection& cfg, std::uint64_t seed, int client);

}  // namespace fedhpc::sim
