#include "fedhpc/model/network.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/lenet5.hpp"
#include "fedhpc/model/mlp.hpp"

namespace fedhpc::model {

void Network::init(std::span<float> params, Rng& rng) const {
  expects(params.size() == layout_.size(), "Network::init: parameter buffer size mismatch");
  for (std::size_t v = 0; v < layout_.num_vars(); ++v) {
    const Variable& var = layout_.var(v);
    const std::span<float> values = layout_.view(params, v);
    if (!var.is_weight()) {
      std::fill(values.begin(), values.end(), 0.0f);
      continue;
    }
    // He-uniform: fan_in = elements per output unit (in, or in_c * kh * kw).
    const double fan_in = static_cast<double>(var.size) / var.shape.front();
    const double limit = std::sqrt(6.0 / fan_in);
    for (float& w : values) w = static_cast<float>((2.0 * rng.uniform() - 1.0) * limit);
  }
}

std::unique_ptr<Network> make_network(const ModelSection& cfg, data::Shape input,
                                      int num_classes) {
  switch (cfg.arch) {
    case Arch::kMlp:
      return std::make_unique<Mlp>(input, num_classes, cfg.hidden);
    case Arch::kLeNet5:
      return std::make_unique<LeNet5>(input, num_classes);
  }
  throw InternalError("make_network: unknown model.arch value " +
                      std::to_string(static_cast<int>(cfg.arch)) + " (valid: mlp, lenet5)");
}

}  // namespace fedhpc::model
