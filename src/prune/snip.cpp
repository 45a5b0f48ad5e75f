#include "fedhpc/prune/snip.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/loss.hpp"
#include "fedhpc/model/param_source.hpp"

namespace fedhpc::prune {

void snip_saliency(model::Network& net, std::span<const float> w, const data::ExampleView& data,
                   int batch, Rng& rng, std::span<float> out) {
  const int b = static_cast<int>(std::min<std::int64_t>(batch, data.n));
  expects(b > 0, "snip_saliency: client without examples");
  std::vector<std::int32_t> order(static_cast<std::size_t>(data.n));
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(std::span<std::int32_t>(order));
  const int d = net.input_size(), classes = net.num_classes();
  std::vector<float> x(static_cast<std::size_t>(b) * d), dlog(static_cast<std::size_t>(b) * classes);
  std::vector<std::int32_t> y(static_cast<std::size_t>(b));
  for (int i = 0; i < b; ++i) {
    const std::int64_t e = order[static_cast<std::size_t>(i)];
    std::memcpy(x.data() + static_cast<std::size_t>(i) * d, data.x + e * d, sizeof(float) * static_cast<std::size_t>(d));
    y[static_cast<std::size_t>(i)] = data.y[e];
  }
  model::FlatParams params(net.layout(), w);
  const auto logits = net.forward(params, x.data(), b);
  model::softmax_cross_entropy(logits, y.data(), b, classes, 1.0f / static_cast<float>(b), dlog);
  net.backward(params, dlog, out);  // out = g
  for (const auto& v : net.layout().vars())
    for (std::size_t j = v.offset; j < v.offset + v.size; ++j)
      out[j] = v.is_weight() ? std::fabs(out[j] * w[j]) : 0.0f;
}

SnipPhase::SnipPhase(std::shared_ptr<PruneState> state, model::Network& net, int batch)
    : state_(std::move(state)), net_(&net), batch_(batch) {}

double SnipPhase::estimate(int, const data::ExampleView& data, std::span<const float> model, Rng& rng,
                           std::span<float> out) {
  snip_saliency(*net_, model, data, batch_, rng, out);
  return 0.0;
}

void SnipPhase::finish(int, std::span<const double> mean, std::int64_t clients, double, std::span<float>) {
  if (clients == 0)
    throw ConfigError("prune.method", "snip: no client of the first round could score the weights "
                                      "(all dropped or over budget)");
  state_->mask.keep_top(mean, 1.0 - state_->cfg.sparsity);
}

}  // namespace fedhpc::prune
