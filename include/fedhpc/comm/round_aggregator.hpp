#pragma once
/// The round's aggregation strategy (docs/design.md, "Seams"): clients are
/// added one by one on their rank, reduce() combines the ranks with one path
/// chosen at set-up, and every rank ends with the same weighted mean update.
///
///   dense      sums in 128-bit fixed point; one allreduce of (sums, weight, tail).
///   sparse     the same sums, but only the touched support travels (sum_sparse,
///              with its dense fallback); the tail is one extra small allreduce.
///   quantized  each contribution is kept (decoded once, fp32) until the ranks
///              agree on a grid: scale = max over all clients of |w x| / L with
///              L = floor((2^31 - 1) / sampled), so no int32 sum overflows; each
///              is rounded onto it stochastically (keyed by (seed, round, client),
///              unbiased), codes are summed with one int32 allreduce.
/// Dense and sparse give bitwise the same mean; all three give the same bits
/// for any rank count and any order of add() within a rank.
///
/// The tail holds the caller's exact counters (fl::RoundTally) and is summed
/// over ranks with the model sums.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fedhpc/comm/aggregate.hpp"
#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/comm/exact_sum.hpp"

namespace fedhpc::comm {

/// One client's contribution: `values`, or `values - minus` (in double) when minus is not empty.
struct Contribution {
  std::span<const float> values;  ///< (n)
  std::span<const float> minus;   ///< (n) or empty
};

/// What reduce() produced.
struct ReduceResult {
  AggregateStats stats;
  std::int64_t weight = 0;  ///< total weight of the added clients, all ranks
};

/// acc += w * to_fixed(v), wrapping (no undefined behaviour even if the caller's
/// bound |w v| < kMaxFixedInput is violated; within it the sum is exact).
inline void add_weighted(Fixed& acc, std::int64_t w, double v) noexcept {
  acc = static_cast<Fixed>(static_cast<UFixed>(acc) +
                           static_cast<UFixed>(static_cast<Fixed>(w)) * static_cast<UFixed>(to_fixed(v)));
}

/// True if w * v can be added exactly (finite, |w v| < kMaxFixedInput).
inline bool fits_weighted(double v, std::int64_t w) noexcept {
  return std::isfinite(v) && std::fabs(v) * static_cast<double>(w) < kMaxFixedInput;
}

/// True if every element fits (fits_weighted) with weight w.
inline bool all_fit_weighted(std::span<const float> x, std::int64_t w) noexcept {
  for (const float v : x)
    if (!fits_weighted(v, w)) return false;
  return true;
}

/// Aggregation of one round's client contributions.
class RoundAggregator {
 public:
  /// n model entries and `tail` caller counters.
  RoundAggregator(std::size_t n, std::size_t tail);
  virtual ~RoundAggregator() = default;
  RoundAggregator(const RoundAggregator&) = delete;
  RoundAggregator& operator=(const RoundAggregator&) = delete;
  /// The path this strategy takes (the sparse one may still fall back to dense).
  virtual AggregatePath path() const noexcept = 0;
  /// Starts a round: sums, weight and tail are zero.
  virtual void begin_round(int round);
  /// Adds weight * contribution. Precondition: fits_weighted(v, weight) for every element.
  virtual void add(int client, std::int64_t weight, const Contribution& c) = 0;
  /// This rank's tail before reduce(), the sum over ranks after it.
  std::span<Fixed> tail() noexcept { return std::span<Fixed>(acc_).subspan(n_ + 1); }
  /// Collective. Combines the ranks; if the total weight is positive, mean (n)
  /// becomes the weighted mean contribution. `sampled` = clients sampled this
  /// round (all ranks alike; the quantized grid depends on it).
  virtual ReduceResult reduce(const Communicator& comm, std::int64_t sampled,
                              std::span<double> mean) = 0;

 protected:
  /// mean[j] = from_fixed(acc_[j]) / weight.
  void fixed_mean(std::int64_t weight, std::span<double> mean) const;
  std::int64_t total_weight() const noexcept { return static_cast<std::int64_t>(acc_[n_]); }
  std::size_t n_;
  int round_ = 0;
  std::vector<Fixed> acc_;  // (n + 1 + tail): sums, total weight, caller tail
};

/// Dense exact sums, one allreduce.
class DenseAggregator final : public RoundAggregator {
 public:
  using RoundAggregator::RoundAggregator;
  AggregatePath path() const noexcept override { return AggregatePath::kDense; }
  void add(int client, std::int64_t weight, const Contribution& c) override;
  ReduceResult reduce(const Communicator& comm, std::int64_t sampled, std::span<double> mean) override;
};

/// Exact sums over the touched support, gathered sparsely (dense above dense_threshold).
class SparseAggregator final : public RoundAggregator {
 public:
  SparseAggregator(std::size_t n, std::size_t tail, double dense_threshold);
  AggregatePath path() const noexcept override { return AggregatePath::kSparse; }
  void add(int client, std::int64_t weight, const Contribution& c) override;
  ReduceResult reduce(const Communicator& comm, std::int64_t sampled, std::span<double> mean) override;

 private:
  void touch(std::size_t j) {
    if (touched_[j]) return;
    touched_[j] = 1;
    support_.push_back(static_cast<std::uint32_t>(j));
  }
  double dense_threshold_;
  std::vector<std::uint8_t> touched_;   // (n) index in support_
  std::vector<std::uint32_t> support_;  // rank-local support
  SparseScratch scratch_;
};

/// Integer codes on a grid agreed across ranks.
class QuantizedAggregator final : public RoundAggregator {
 public:
  QuantizedAggregator(std::size_t n, std::size_t tail, std::uint64_t seed);
  AggregatePath path() const noexcept override { return AggregatePath::kQuantized; }
  void begin_round(int round) override;
  void add(int client, std::int64_t weight, const Contribution& c) override;
  ReduceResult reduce(const Communicator& comm, std::int64_t sampled, std::span<double> mean) override;

 private:
  struct Pending {
    int client = 0;
    std::int64_t weight = 0;
    std::vector<float> values;  // (n) the decoded contribution
  };
  std::uint64_t seed_;
  std::vector<Pending> pending_;  // pool; the first count_ are this round's
  std::size_t count_ = 0;
  double max_ = 0.0;              // max |w x| over this round's contributions
  std::vector<std::int32_t> codes_;  // (n) integer sums
};

/// The strategy for `path` (one switch).
std::unique_ptr<RoundAggregator> make_round_aggregator(AggregatePath path, std::size_t n,
                                                       std::size_t tail, std::uint64_t seed,
                                                       double dense_threshold);

}  // namespace fedhpc::comm
