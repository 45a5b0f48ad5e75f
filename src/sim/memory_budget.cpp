#include "fedhpc/sim/memory_budget.hpp"

#include <cmath>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::sim {

std::uint64_t memory_budget(const ClientSection& cfg, std::uint64_t seed, int client) {
  constexpr double kMiB = 1024.0 * 1024.0;
  Rng rng(seed, Purpose::kBudget, static_cast<std::uint64_t>(client));
  double mb = 0.0;
  switch (cfg.budget) {
    case BudgetDist::kFixed: mb = cfg.budget_mb; break;
    case BudgetDist::kUniform:
      mb = cfg.budget_min_mb + (cfg.budget_max_mb - cfg.budget_min_mb) * rng.uniform();
      break;
    case BudgetDist::kLogNormal: mb = cfg.budget_mb * std::exp(cfg.budget_sigma * rng.normal()); break;
    default: throw InternalError("memory_budget: unknown distribution");
  }
  return static_cast<std::uint64_t>(mb * kMiB);
}

}  // namespace fedhpc::sim
