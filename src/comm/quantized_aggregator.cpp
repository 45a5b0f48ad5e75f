#include <algorithm>
#include <cmath>
#include <limits>

#include "fedhpc/comm/round_aggregator.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::comm {

QuantizedAggregator::QuantizedAggregator(std::size_t n, std::size_t tail, std::uint64_t seed)
    : RoundAggregator(n, tail), seed_(seed), codes_(n) {}

void QuantizedAggregator::begin_round(int round) {
  RoundAggregator::begin_round(round);
  count_ = 0;
  max_ = 0.0;
}

void QuantizedAggregator::add(int client, std::int64_t weight, const Contribution& c) {
  // Kept, decoded once, until the ranks agree on the grid (reduce).
  if (count_ == pending_.size()) pending_.emplace_back();
  Pending& p = pending_[count_++];
  p.client = client;
  p.weight = weight;
  p.values.resize(n_);
  if (c.minus.empty()) std::copy(c.values.begin(), c.values.end(), p.values.begin());
  else
    for (std::size_t j = 0; j < n_; ++j) p.values[j] = c.values[j] - c.minus[j];
  const double w = static_cast<double>(weight);
  for (std::size_t j = 0; j < n_; ++j) max_ = std::max(max_, std::fabs(w * p.values[j]));
  acc_[n_] += weight;
}

ReduceResult QuantizedAggregator::reduce(const Communicator& comm, std::int64_t sampled,
                                         std::span<double> mean) {
  const auto tail = std::span<Fixed>(acc_).subspan(n_);
  allreduce_exact(comm, tail);
  ReduceResult r;
  r.stats.path = AggregatePath::kQuantized;
  const double gmax = agree_max(comm, max_, &r.stats);
  const double levels = static_cast<double>(std::numeric_limits<std::int32_t>::max() /
                                            std::max<std::int64_t>(1, sampled));
  const double scale = gmax > 0.0 ? gmax / levels : 0.0;
  std::fill(codes_.begin(), codes_.end(), 0);
  for (std::size_t i = 0; i < count_ && scale > 0.0; ++i) {
    const Pending& p = pending_[i];
    Rng rng(seed_, Purpose::kAggregate, static_cast<std::uint64_t>(round_),
            static_cast<std::uint64_t>(p.client));
    const double f = static_cast<double>(p.weight) / scale;
    for (std::size_t j = 0; j < n_; ++j) {
      const double y = f * p.values[j];
      const double lo = std::floor(y);
      codes_[j] += static_cast<std::int32_t>(lo) + (rng.uniform() < y - lo ? 1 : 0);
    }
  }
  const AggregateStats q = sum_codes(comm, codes_);
  const auto tail_bytes = static_cast<std::int64_t>(tail.size_bytes());
  r.stats.bytes_sent += q.bytes_sent + tail_bytes;
  r.stats.bytes_received += q.bytes_received + tail_bytes;
  count_ = 0;
  max_ = 0.0;
  r.weight = total_weight();
  if (r.weight > 0) {
    const double inv = 1.0 / static_cast<double>(r.weight);
    for (std::size_t j = 0; j < n_; ++j) mean[j] = static_cast<double>(codes_[j]) * scale * inv;
  }
  return r;
}

}  // namespace fedhpc::comm
