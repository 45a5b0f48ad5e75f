#include "fedhpc/comm/round_aggregator.hpp"

#include "fedhpc/core/error.hpp"

namespace fedhpc::comm {

RoundAggregator::RoundAggregator(std::size_t n, std::size_t tail) : n_(n), acc_(n + 1 + tail) {}

void RoundAggregator::begin_round(int round) {
  round_ = round;
  std::fill(acc_.begin(), acc_.end(), Fixed{0});
}

void RoundAggregator::fixed_mean(std::int64_t weight, std::span<double> mean) const {
  const double inv = 1.0 / static_cast<double>(weight);
  for (std::size_t j = 0; j < n_; ++j) mean[j] = from_fixed(acc_[j]) * inv;
}

std::unique_ptr<RoundAggregator> make_round_aggregator(AggregatePath path, std::size_t n,
                                                       std::size_t tail, std::uint64_t seed,
                                                       double dense_threshold) {
  switch (path) {
    case AggregatePath::kDense: return std::make_unique<DenseAggregator>(n, tail);
    case AggregatePath::kSparse: return std::make_unique<SparseAggregator>(n, tail, dense_threshold);
    case AggregatePath::kQuantized: return std::make_unique<QuantizedAggregator>(n, tail, seed);
  }
  throw InternalError("make_round_aggregator: unknown path");
}

}  // namespace fedhpc::comm
