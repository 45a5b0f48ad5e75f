#include "fedhpc/model/mlp.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/dense_layer.hpp"
#include "fedhpc/model/kernels/bias.hpp"
#include "fedhpc/model/kernels/dense.hpp"
#include "fedhpc/model/kernels/relu.hpp"

namespace fedhpc::model {
namespace {

std::size_t weight_var(int l) { return 2 * static_cast<std::size_t>(l); }
std::size_t bias_var(int l) { return 2 * static_cast<std::size_t>(l) + 1; }

}  // namespace

Mlp::Mlp(data::Shape input, int num_classes, std::vector<int> hidden)
    : Network(input, num_classes) {
  expects(input.size() > 0 && num_classes > 0, "Mlp: empty input or no classes");
  widths_.push_back(input.size());
  for (int h : hidden) {
    if (h <= 0)
      throw ConfigError("model.hidden", "hidden widths must be positive, got " + std::to_string(h));
    widths_.push_back(h);
    max_width_ = std::max(max_width_, h);
  }
  widths_.push_back(num_classes);
  for (int l = 0; l < num_layers(); ++l) {
    const std::string name = "fc" + std::to_string(l + 1);
    const int in = widths_[static_cast<std::size_t>(l)];
    const int out = widths_[static_cast<std::size_t>(l) + 1];
    layout_.add(name + ".weight", {out, in}, VarKind::kDenseWeight);
    layout_.add(name + ".bias", {out}, VarKind::kBias);
  }
}

void Mlp::reserve(int max_batch) {
  expects(max_batch > 0, "Mlp::reserve: max_batch must be positive");
  max_batch_ = max_batch;
  const auto b = static_cast<std::size_t>(max_batch);
  act_offset_.assign(static_cast<std::size_t>(num_layers()), 0);
  std::size_t total = 0;
  for (int l = 0; l < num_layers(); ++l) {
    act_offset_[static_cast<std::size_t>(l)] = total;
    total += b * static_cast<std::size_t>(widths_[static_cast<std::size_t>(l) + 1]);
  }
  acts_.assign(total, 0.0f);
  grad_a_.assign(b * static_cast<std::size_t>(max_width_), 0.0f);
  grad_b_.assign(b * static_cast<std::size_t>(max_width_), 0.0f);
  n_ = 0;
  x_ = nullptr;
}

std::span<const float> Mlp::forward(ParamSource& params, const float* x, int n) {
  if (n < 1 || n > max_batch_)
    throw InternalError("Mlp::forward: batch of " + std::to_string(n) +
                        " outside [1, reserve(" + std::to_string(max_batch_) + ")]");
  x_ = x;
  n_ = n;
  const float* in = x;
  for (int l = 0; l < num_layers(); ++l) {
    const int w_in = widths_[static_cast<std::size_t>(l)];
    const int w_out = widths_[static_cast<std::size_t>(l) + 1];
    float* out = output(l);  // (n, w_out)
    dense_forward(params, weight_var(l), in, out, n, w_in, w_out);
    {
      const ScopedParam b(params, bias_var(l), layout_.var(bias_var(l)).size);
      kernels::add_bias(b.data(), out, n, w_out, 1);
    }
    if (l + 1 < num_layers())
      kernels::relu_forward(out, static_cast<std::size_t>(n) * static_cast<std::size_t>(w_out));
    in = out;
  }
  return {output(num_layers() - 1), static_cast<std::size_t>(n) * static_cast<std::size_t>(num_classes_)};
}

void Mlp::backward(ParamSource& params, std::span<const float> dlogits, std::span<float> grads) {
  expects(n_ > 0 && x_ != nullptr, "Mlp::backward: no forward pass to differentiate");
  expects(dlogits.size() == static_cast<std::size_t>(n_) * static_cast<std::size_t>(num_classes_),
          "Mlp::backward: dlogits size is not n * classes");
  expects(grads.size() == layout_.size(), "Mlp::backward: gradient buffer size mismatch");
  const int n = n_;
  const float* dy = dlogits.data();  // (n, w_out) gradient of the current layer's output
  float* spare = grad_a_.data();
  for (int l = num_layers() - 1; l >= 0; --l) {
    const int w_in = widths_[static_cast<std::size_t>(l)];
    const int w_out = widths_[static_cast<std::size_t>(l) + 1];
    const float* in = l == 0 ? x_ : output(l - 1);  // (n, w_in)
    kernels::dense_backward_weight(in, dy, grads.data() + layout_.var(weight_var(l)).offset, n,
                                   w_in, w_out);
    kernels::bias_backward(dy, grads.data() + layout_.var(bias_var(l)).offset, n, w_out, 1);
    if (l == 0) break;
    float* dx = spare;  // (n, w_in)
    dense_backward_data(params, weight_var(l), dy, dx, n, w_in, w_out);
    kernels::relu_backward(in, dx, static_cast<std::size_t>(n) * static_cast<std::size_t>(w_in));
    spare = dx == grad_a_.data() ? grad_b_.data() : grad_a_.data();
    dy = dx;
  }
}

double Mlp::forward_flops() const {
  double flops = 0.0;
  for (int l = 0; l < num_layers(); ++l)
    flops += 2.0 * widths_[static_cast<std::size_t>(l)] * widths_[static_cast<std::size_t>(l) + 1];
  return flops;
}

std::size_t Mlp::activation_bytes() const {
  std::size_t floats = 2 * static_cast<std::size_t>(max_width_);  // gradient ping-pong
  for (int l = 0; l < num_layers(); ++l) floats += static_cast<std::size_t>(widths_[static_cast<std::size_t>(l) + 1]);
  return sizeof(float) * floats;
}

std::size_t Mlp::max_layer_bytes() const {
  return sizeof(float) * static_cast<std::size_t>(*std::max_element(widths_.begin() + 1, widths_.end()));
}

}  // namespace fedhpc::model
