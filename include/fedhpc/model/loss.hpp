#pragma once
/// Softmax cross-entropy over logits (n, c).
#include <cstdint>
#include <span>

namespace fedhpc::model {

/// Sum over the batch of the loss, and the number of correct argmax predictions.
struct LossStats {
  double loss_sum = 0.0;
  std::int64_t correct = 0;
};

/// loss_i = logsumexp(z_i) - z_i[y_i]. When dlogits is non-empty it receives
/// d(sum_i loss_i * scale)/dz = scale * (softmax(z_i) - onehot(y_i)).
/// When per_example is non-empty it receives each loss_i.
LossStats softmax_cross_entropy(std::span<const float> logits, const std::int32_t* y, int n,
                                int classes, float scale, std::span<float> dlogits,
                                std::span<double> per_example = {});

}  // namespace fedhpc::model
