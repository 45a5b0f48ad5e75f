#include <algorithm>

#include "fedhpc/comm/round_aggregator.hpp"

namespace fedhpc::comm {

SparseAggregator::SparseAggregator(std::size_t n, std::size_t tail, double dense_threshold)
    : RoundAggregator(n, tail), dense_threshold_(dense_threshold), touched_(n, 0) {}

void SparseAggregator::add(int, std::int64_t weight, const Contribution& c) {
  const float* x = c.values.data();
  if (c.minus.empty()) {
    for (std::size_t j = 0; j < n_; ++j) {
      if (x[j] == 0.0f) continue;
      add_weighted(acc_[j], weight, x[j]);
      touch(j);
    }
  } else {
    const float* m = c.minus.data();
    for (std::size_t j = 0; j < n_; ++j) {
      if (x[j] == m[j]) continue;
      add_weighted(acc_[j], weight, static_cast<double>(x[j]) - static_cast<double>(m[j]));
      touch(j);
    }
  }
  acc_[n_] += weight;
}

ReduceResult SparseAggregator::reduce(const Communicator& comm, std::int64_t, std::span<double> mean) {
  const std::span<Fixed> all(acc_);
  const auto tail = all.subspan(n_);
  allreduce_exact(comm, tail);
  std::sort(support_.begin(), support_.end());
  ReduceResult r;
  r.stats = sum_sparse(comm, all.first(n_), support_, dense_threshold_, scratch_);
  for (const auto j : support_) touched_[j] = 0;
  support_.clear();
  const auto tail_bytes = static_cast<std::int64_t>(tail.size_bytes());
  r.stats.bytes_sent += tail_bytes;
  r.stats.bytes_received += tail_bytes;
  r.weight = total_weight();
  if (r.weight > 0) fixed_mean(r.weight, mean);
  return r;
}

}  // namespace fedhpc::comm
