#pragma once
/// Test-set evaluation split across ranks in fixed global batches, so every
/// example is always evaluated in the same batch whatever the rank count and
/// the reduced loss is bitwise identical.
#include <cstdint>
#include <span>
#include <utility>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/comm/exact_sum.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/model/network.hpp"

namespace fedhpc::sim {

/// Examples per evaluation batch (fixed: part of the determinism contract).
inline constexpr int kEvalBatch = 250;

/// Test rows [begin, end) evaluated by `rank`: whole kEvalBatch batches, split evenly.
std::pair<std::int64_t, std::int64_t> test_rows(std::int64_t test_size, int rank, int num_ranks);

/// Mean test loss and accuracy.
struct EvalResult {
  double loss = 0.0;
  double accuracy = 0.0;
};

/// Exact sums of an evaluation: loss (fixed point), correct predictions and
/// batches whose loss does not fit the fixed-point range.
struct EvalSums {
  comm::Fixed acc[3] = {0, 0, 0};
  /// Adds rows, forwarded in batches of kEvalBatch from its first row.
  void add(model::Network& net, model::ParamSource& params, const data::ExampleView& rows);
  /// Collective: sums over ranks, then loss and accuracy over `examples` (a
  /// non-finite batch makes the loss NaN on every rank).
  EvalResult reduce(const comm::Communicator& comm, std::int64_t examples);
};

/// Evaluates the server model on this rank's test rows and reduces over ranks.
class Evaluator {
 public:
  Evaluator(const comm::Communicator& comm, model::Network& net, data::ExampleView rows,
            std::int64_t test_size);
  EvalResult evaluate(std::span<const float> params);

 private:
  const comm::Communicator* comm_;
  model::Network* net_;
  data::ExampleView rows_;
  std::int64_t test_size_;
};

}  // namespace fedhpc::sim
