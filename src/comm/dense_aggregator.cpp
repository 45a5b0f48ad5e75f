#include "fedhpc/comm/round_aggregator.hpp"

namespace fedhpc::comm {

void DenseAggregator::add(int, std::int64_t weight, const Contribution& c) {
  const float* x = c.values.data();
  if (c.minus.empty()) {
    for (std::size_t j = 0; j < n_; ++j) add_weighted(acc_[j], weight, x[j]);
  } else {
    const float* m = c.minus.data();
    for (std::size_t j = 0; j < n_; ++j)
      add_weighted(acc_[j], weight, static_cast<double>(x[j]) - static_cast<double>(m[j]));
  }
  acc_[n_] += weight;
}

ReduceResult DenseAggregator::reduce(const Communicator& comm, std::int64_t, std::span<double> mean) {
  ReduceResult r;
  r.stats = sum_dense(comm, acc_);  // sums, weight and tail in one call
  r.weight = total_weight();
  if (r.weight > 0) fixed_mean(r.weight, mean);
  return r;
}

}  // namespace fedhpc::comm
