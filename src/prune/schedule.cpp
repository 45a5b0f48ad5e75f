#include "fedhpc/prune/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace fedhpc::prune {

double sparsity_at(const PruneSection& p, int round, int rounds) noexcept {
  const double end = p.schedule_end * static_cast<double>(rounds);
  const double x = 1.0 - std::min(1.0, static_cast<double>(round) / end);
  return p.sparsity + (p.initial_sparsity - p.sparsity) * x * x * x;
}

double lambda_at(const PruneSection& p, int round, int rounds) noexcept {
  const int q = p.segments;
  const int len = std::max(1, rounds / q);
  const int seg = std::min(q - 1, round / len);
  if (seg == 0) return 0.0;
  return p.lambda_init + (p.lambda_max - p.lambda_init) * static_cast<double>(seg - 1) /
                             static_cast<double>(q - 1);
}

double lr_factor(const PruneSection& p, int round) noexcept {
  return std::pow(p.lr_decay, static_cast<double>(round));
}

}  // namespace fedhpc::prune
