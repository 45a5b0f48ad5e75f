#pragma once
/// FedDIP schedules (METHODS.md §2), as functions of the 0-based round t of T:
///   sparsity   s_t = s_p + (s_0 - s_p) (1 - min(1, t/(e T)))^3    (cubic; e =
///              prune.schedule_end, 1 in the paper: s_p is reached at e T)
///   lambda     Q segments of L = floor(T/Q) rounds (at least 1), the last
///              one taking the rest; segment i = min(Q - 1, t / L);
///              lambda = 0 in segment 0, else
///              lambda_init + (lambda_max - lambda_init) (i - 1) / (Q - 1)
///   lr         lr_t = lr_0 * decay^t
#include "fedhpc/config/run_config.hpp"

namespace fedhpc::prune {

/// s_t of the cubic schedule.
double sparsity_at(const PruneSection& p, int round, int rounds) noexcept;
/// The regularization coefficient of round t.
double lambda_at(const PruneSection& p, int round, int rounds) noexcept;
/// lr_decay^t.
double lr_factor(const PruneSection& p, int round) noexcept;

}  // namespace fedhpc::prune
