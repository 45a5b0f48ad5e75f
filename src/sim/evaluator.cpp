#include "fedhpc/sim/evaluator.hpp"

#include <algorithm>
#include <limits>

#include "fedhpc/comm/exact_sum.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/model/loss.hpp"

namespace fedhpc::sim {

std::pair<std::int64_t, std::int64_t> test_rows(std::int64_t test_size, int rank, int num_ranks) {
  const std::int64_t batches = (test_size + kEvalBatch - 1) / kEvalBatch;
  const std::int64_t b0 = batches * rank / num_ranks;
  const std::int64_t b1 = batches * (rank + 1) / num_ranks;
  return {std::min(test_size, b0 * kEvalBatch), std::min(test_size, b1 * kEvalBatch)};
}

Evaluator::Evaluator(const comm::Communicator& comm, model::Network& net, data::ExampleView rows,
                     std::int64_t test_size)
    : comm_(&comm), net_(&net), rows_(rows), test_size_(test_size) {}

void EvalSums::add(model::Network& net, model::ParamSource& params, const data::ExampleView& rows) {
  const int d = net.input_size();
  const int c = net.num_classes();
  for (std::int64_t b = 0; b < rows.n; b += kEvalBatch) {
    const int n = static_cast<int>(std::min<std::int64_t>(kEvalBatch, rows.n - b));
    const auto logits = net.forward(params, rows.x + b * d, n);
    const auto stats = model::softmax_cross_entropy(logits, rows.y + b, n, c, 1.0f, {});
    // A diverged model is reported as NaN loss on every rank, never a hang.
    if (comm::fits_fixed(stats.loss_sum)) acc[0] += comm::to_fixed(stats.loss_sum);
    else acc[2] += 1;
    acc[1] += stats.correct;
  }
}

EvalResult EvalSums::reduce(const comm::Communicator& comm, std::int64_t examples) {
  comm::allreduce_exact(comm, acc);
  EvalResult r;
  const auto n = static_cast<double>(examples);
  r.loss = acc[2] > 0 ? std::numeric_limits<double>::quiet_NaN() : comm::from_fixed(acc[0]) / n;
  r.accuracy = static_cast<double>(static_cast<std::int64_t>(acc[1])) / n;
  return r;
}

EvalResult Evaluator::evaluate(std::span<const float> params) {
  model::FlatParams source(net_->layout(), params);
  EvalSums sums;
  sums.add(*net_, source, rows_);
  return sums.reduce(*comm_, test_size_);
}

}  // namespace fedhpc::sim
