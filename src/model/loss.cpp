#include "fedhpc/model/loss.hpp"

#include <cmath>
#include <cstddef>

#include "fedhpc/core/error.hpp"

namespace fedhpc::model {

LossStats softmax_cross_entropy(std::span<const float> logits, const std::int32_t* y, int n,
                                int classes, float scale, std::span<float> dlogits,
                                std::span<double> per_example) {
  expects(n >= 0 && classes > 0, "softmax_cross_entropy: bad batch or class count");
  const std::size_t total = static_cast<std::size_t>(n) * static_cast<std::size_t>(classes);
  expects(logits.size() >= total, "softmax_cross_entropy: logits shorter than n * classes");
  expects(dlogits.empty() || dlogits.size() >= total,
          "softmax_cross_entropy: dlogits shorter than n * classes");
  expects(per_example.empty() || per_example.size() >= static_cast<std::size_t>(n),
          "softmax_cross_entropy: per_example shorter than n");
  LossStats stats;
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    const float* z = logits.data() + i * static_cast<std::size_t>(classes);
    const std::int32_t label = y[i];
    expects(label >= 0 && label < classes, "softmax_cross_entropy: label out of range");
    // Shift by the max so exp never overflows; the first max is the prediction.
    int arg = 0;
    for (int c = 1; c < classes; ++c)
      if (z[c] > z[arg]) arg = c;
    const double zmax = z[arg];
    double sum = 0.0;
    for (int c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(z[c]) - zmax);
    const double loss = std::log(sum) + zmax - static_cast<double>(z[label]);
    stats.loss_sum += loss;
    if (arg == label) ++stats.correct;
    if (!per_example.empty()) per_example[i] = loss;
    if (!dlogits.empty()) {
      float* d = dlogits.data() + i * static_cast<std::size_t>(classes);
      const double inv = 1.0 / sum;
      for (int c = 0; c < classes; ++c) {
        const double p = std::exp(static_cast<double>(z[c]) - zmax) * inv;
        d[c] = static_cast<float>(scale * (p - (c == label ? 1.0 : 0.0)));
      }
    }
  }
  return stats;
}

}  // namespace fedhpc::model
