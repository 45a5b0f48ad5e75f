#include "fedhpc/model/lenet5.hpp"

#include <algorithm>
#include <string>

#include "fedhpc/core/error.hpp"
#include "fedhpc/model/dense_layer.hpp"
#include "fedhpc/model/kernels/bias.hpp"
#include "fedhpc/model/kernels/chwn.hpp"
#include "fedhpc/model/kernels/conv2d.hpp"
#include "fedhpc/model/kernels/conv2d_chwn.hpp"
#include "fedhpc/model/kernels/dense.hpp"
#include "fedhpc/model/kernels/maxpool.hpp"
#include "fedhpc/model/kernels/pool_bias_relu_chwn.hpp"
#include "fedhpc/model/kernels/relu.hpp"

namespace fedhpc::model {
namespace {

using kernels::ConvShape;

constexpr ConvShape kConv1{1, 28, 28, 6, 5, 2};   // (1, 28, 28) -> (6, 28, 28)
constexpr ConvShape kConv2{6, 14, 14, 16, 5, 0};  // (6, 14, 14) -> (16, 10, 10)
// conv1 over its input with the padding stored: (1, 32, 32) -> (6, 28, 28).
constexpr ConvShape kConv1Padded{1, 32, 32, 6, 5, 0};
static_assert(kConv1Padded.out_size() == kConv1.out_size(), "same conv1 output");
constexpr int kPool1 = kConv1.out_size() / 4;     // (6, 14, 14) = 1176
constexpr int kPool2 = kConv2.out_size() / 4;     // (16, 5, 5) = 400
constexpr int kFc1 = 120;
constexpr int kFc2 = 84;
static_assert(kPool1 == kConv2.in_size(), "pool1 feeds conv2");

// Variable indices in layout order.
enum Var : std::size_t { kW1, kB1, kW2, kB2, kW3, kB3, kW4, kB4, kW5, kB5 };

std::size_t sz(int n, int per_example) {
  return static_cast<std::size_t>(n) * static_cast<std::size_t>(per_example);
}

}  // namespace

LeNet5::LeNet5(data::Shape input, int num_classes) : Network(input, num_classes) {
  if (input.channels != 1 || input.height != 28 || input.width != 28)
    throw ConfigError("model.arch", "lenet5 needs 1x28x28 inputs, dataset has " +
                                        std::to_string(input.channels) + "x" +
                                        std::to_string(input.height) + "x" +
                                        std::to_string(input.width));
  expects(num_classes > 0, "LeNet5: no classes");
  layout_.add("conv1.weight", {kConv1.out_c, kConv1.in_c, kConv1.k, kConv1.k}, VarKind::kConvKernel);
  layout_.add("conv1.bias", {kConv1.out_c}, VarKind::kBias);
  layout_.add("conv2.weight", {kConv2.out_c, kConv2.in_c, kConv2.k, kConv2.k}, VarKind::kConvKernel);
  layout_.add("conv2.bias", {kConv2.out_c}, VarKind::kBias);
  layout_.add("fc1.weight", {kFc1, kPool2}, VarKind::kDenseWeight);
  layout_.add("fc1.bias", {kFc1}, VarKind::kBias);
  layout_.add("fc2.weight", {kFc2, kFc1}, VarKind::kDenseWeight);
  layout_.add("fc2.bias", {kFc2}, VarKind::kBias);
  layout_.add("fc3.weight", {num_classes, kFc2}, VarKind::kDenseWeight);
  layout_.add("fc3.bias", {num_classes}, VarKind::kBias);
}

void LeNet5::reserve(int max_batch) {
  expects(max_batch > 0, "LeNet5::reserve: max_batch must be positive");
  max_batch_ = max_batch;
  const bool lanes = max_batch >= kMinLaneBatch;
  const int L = kernels::chwn_lanes(max_batch);
  const int E = lanes ? L : max_batch;  // examples or lanes of the shared conv buffers
  conv_.assign(sz(E, kConv1.out_size()), 0.0f);
  pool1_.assign(sz(E, kPool1), 0.0f);
  arg1_.assign(sz(E, kPool1), 0);
  arg2_.assign(sz(E, kPool2), 0);
  pool2_.assign(sz(max_batch, kPool2), 0.0f);
  fc1_.assign(sz(max_batch, kFc1), 0.0f);
  fc2_.assign(sz(max_batch, kFc2), 0.0f);
  logits_.assign(sz(max_batch, num_classes_), 0.0f);
  grad_small_.assign(sz(max_batch, std::max(kPool2, kFc2)), 0.0f);
  grad_big_.assign(sz(max_batch, std::max(kPool1, kFc1)), 0.0f);
  constexpr int kPadH = kConv2.out_h() + 2 * (kConv2.k - 1), kPadW = kConv2.out_w() + 2 * (kConv2.k - 1);
  const std::size_t cols = std::max(kernels::conv2d_scratch_size(kConv1), kernels::conv2d_scratch_size(kConv2));
  scratch_.assign(lanes ? std::max(cols, sz(L, kConv2.out_c * kPadH * kPadW)) : cols, 0.0f);
  const auto lane_buffer = [&](AlignedVector<float>& v, std::size_t size) {
    if (lanes) v.assign(size, 0.0f);
    else AlignedVector<float>().swap(v);
  };
  lane_buffer(xin_, sz(L, kConv1Padded.in_size()));
  lane_buffer(pool2c_, sz(L, kPool2));
  lane_buffer(dpool2_, sz(L, kPool2));
  lane_buffer(dpool1_, sz(L, kPool1));
  lane_buffer(wt_, static_cast<std::size_t>(kConv2.out_c) * kConv2.patch());
  n_ = 0;
  x_ = nullptr;
}

void LeNet5::forward_convs_lanes(ParamSource& params, const float* x, int n) {
  const auto size_of = [&](std::size_t v) { return layout_.var(v).size; };
  const int L = kernels::chwn_lanes(n);
  // Block 1: conv -> pool -> bias -> ReLU, (1, 28, 28) -> (6, 14, 14), batch innermost.
  kernels::to_chwn(x, xin_.data(), n, 1, 28, 28, kConv1.pad, L);
  {
    const ScopedParam w(params, kW1, size_of(kW1));
    kernels::conv2d_chwn_forward(xin_.data(), w.data(), conv_.data(), L, kConv1Padded, kConv1.pad);
  }
  {
    const ScopedParam b(params, kB1, size_of(kB1));
    kernels::pool_bias_relu_chwn_forward(conv_.data(), b.data(), pool1_.data(), arg1_.data(),
                                         kConv1.out_c, kConv1.out_h(), kConv1.out_w(), L);
  }
  // Block 2: (6, 14, 14) -> (16, 5, 5), then (B, 400) for the dense head.
  {
    const ScopedParam w(params, kW2, size_of(kW2));
    kernels::conv2d_chwn_forward(pool1_.data(), w.data(), conv_.data(), L, kConv2);
  }
  {
    const ScopedParam b(params, kB2, size_of(kB2));
    kernels::pool_bias_relu_chwn_forward(conv_.data(), b.data(), pool2c_.data(), arg2_.data(),
                                         kConv2.out_c, kConv2.out_h(), kConv2.out_w(), L);
  }
  kernels::from_chwn(pool2c_.data(), pool2_.data(), n, kConv2.out_c, kConv2.out_h() / 2,
                     kConv2.out_w() / 2, L);
}

void LeNet5::forward_convs_per_example(ParamSource& params, const float* x, int n) {
  const auto size_of = [&](std::size_t v) { return layout_.var(v).size; };
  // Block 1: conv -> pool -> bias -> ReLU, (n, 1, 28, 28) -> (n, 6, 14, 14).
  {
    const ScopedParam w(params, kW1, size_of(kW1));
    kernels::conv2d_forward(x, w.data(), conv_.data(), scratch_.data(), n, kConv1);
  }
  kernels::maxpool2_forward(conv_.data(), pool1_.data(), arg1_.data(), n, kConv1.out_c,
                            kConv1.out_h(), kConv1.out_w());
  {
    const ScopedParam b(params, kB1, size_of(kB1));
    kernels::add_bias(b.data(), pool1_.data(), n, kConv1.out_c, kPool1 / kConv1.out_c);
  }
  kernels::relu_forward(pool1_.data(), sz(n, kPool1));
  // Block 2: (n, 6, 14, 14) -> (n, 16, 5, 5).
  {
    const ScopedParam w(params, kW2, size_of(kW2));
    kernels::conv2d_forward(pool1_.data(), w.data(), conv_.data(), scratch_.data(), n, kConv2);
  }
  kernels::maxpool2_forward(conv_.data(), pool2_.data(), arg2_.data(), n, kConv2.out_c,
                            kConv2.out_h(), kConv2.out_w());
  {
    const ScopedParam b(params, kB2, size_of(kB2));
    kernels::add_bias(b.data(), pool2_.data(), n, kConv2.out_c, kPool2 / kConv2.out_c);
  }
  kernels::relu_forward(pool2_.data(), sz(n, kPool2));
}

std::span<const float> LeNet5::forward(ParamSource& params, const float* x, int n) {
  if (n < 1 || n > max_batch_)
    throw InternalError("LeNet5::forward: batch of " + std::to_string(n) +
                        " outside [1, reserve(" + std::to_string(max_batch_) + ")]");
  x_ = x;
  n_ = n;
  lanes_ = n >= kMinLaneBatch;  // then reserve() made the lane buffers (max_batch_ >= n)
  if (lanes_) forward_convs_lanes(params, x, n);
  else forward_convs_per_example(params, x, n);
  const auto size_of = [&](std::size_t v) { return layout_.var(v).size; };
  // Dense head: 400 -> 120 -> 84 -> classes.
  const auto dense = [&](std::size_t wv, std::size_t bv, const float* in, float* out, int d_in,
                         int d_out, bool relu) {
    dense_forward(params, wv, in, out, n, d_in, d_out);
    {
      const ScopedParam b(params, bv, size_of(bv));
      kernels::add_bias(b.data(), out, n, d_out, 1);
    }
    if (relu) kernels::relu_forward(out, sz(n, d_out));
  };
  dense(kW3, kB3, pool2_.data(), fc1_.data(), kPool2, kFc1, true);
  dense(kW4, kB4, fc1_.data(), fc2_.data(), kFc1, kFc2, true);
  dense(kW5, kB5, fc2_.data(), logits_.data(), kFc2, num_classes_, false);
  return {logits_.data(), sz(n, num_classes_)};
}

void LeNet5::backward_convs_lanes(ParamSource& params, float* grads, int n) {
  const auto grad = [&](std::size_t v) { return grads + layout_.var(v).offset; };
  const auto size_of = [&](std::size_t v) { return layout_.var(v).size; };
  // Block 2, batch innermost: d pool2 -> bias grad, unpool -> conv2 grads, d pool1.
  const int L = kernels::chwn_lanes(n);
  kernels::to_chwn(grad_small_.data(), dpool2_.data(), n, kConv2.out_c, kConv2.out_h() / 2,
                   kConv2.out_w() / 2, 0, L);
  kernels::pool_bias_relu_chwn_backward(pool2c_.data(), dpool2_.data(), arg2_.data(), conv_.data(),
                                        grad(kB2), kConv2.out_c, kConv2.out_h(), kConv2.out_w(), L);
  kernels::conv2d_chwn_backward_weight(pool1_.data(), conv_.data(), grad(kW2), L, kConv2);
  kernels::pad_chwn(conv_.data(), scratch_.data(), kConv2.out_c, kConv2.out_h(), kConv2.out_w(),
                    kConv2.k - 1, L);
  {
    const ScopedParam w(params, kW2, size_of(kW2));
    kernels::conv2d_chwn_backward_data(scratch_.data(), w.data(), dpool1_.data(), wt_.data(), L, kConv2);
  }
  // Block 1: ReLU mask, bias grad, unpool -> conv1 weight grad (the input needs no gradient).
  kernels::pool_bias_relu_chwn_backward(pool1_.data(), dpool1_.data(), arg1_.data(), conv_.data(),
                                        grad(kB1), kConv1.out_c, kConv1.out_h(), kConv1.out_w(), L);
  kernels::conv2d_chwn_backward_weight(xin_.data(), conv_.data(), grad(kW1), L, kConv1Padded);
}

void LeNet5::backward_convs_per_example(ParamSource& params, float* grads, int n) {
  const auto grad = [&](std::size_t v) { return grads + layout_.var(v).offset; };
  const auto size_of = [&](std::size_t v) { return layout_.var(v).size; };
  // Block 2: d pool2 (ReLU-masked) -> bias grad -> unpool -> conv2 grads, d pool1.
  kernels::bias_backward(grad_small_.data(), grad(kB2), n, kConv2.out_c, kPool2 / kConv2.out_c);
  kernels::maxpool2_backward(grad_small_.data(), arg2_.data(), conv_.data(), n, kConv2.out_c,
                             kConv2.out_h(), kConv2.out_w());
  kernels::conv2d_backward_weight(pool1_.data(), conv_.data(), grad(kW2), scratch_.data(), n, kConv2);
  {
    const ScopedParam w(params, kW2, size_of(kW2));
    kernels::conv2d_backward_data(conv_.data(), w.data(), grad_big_.data(), scratch_.data(), n, kConv2);
  }
  kernels::relu_backward(pool1_.data(), grad_big_.data(), sz(n, kPool1));
  // Block 1: bias grad -> unpool -> conv1 weight grad (the input needs no gradient).
  kernels::bias_backward(grad_big_.data(), grad(kB1), n, kConv1.out_c, kPool1 / kConv1.out_c);
  kernels::maxpool2_backward(grad_big_.data(), arg1_.data(), conv_.data(), n, kConv1.out_c,
                             kConv1.out_h(), kConv1.out_w());
  kernels::conv2d_backward_weight(x_, conv_.data(), grad(kW1), scratch_.data(), n, kConv1);
}

void LeNet5::backward(ParamSource& params, std::span<const float> dlogits, std::span<float> grads) {
  expects(n_ > 0 && x_ != nullptr, "LeNet5::backward: no forward pass to differentiate");
  expects(dlogits.size() == sz(n_, num_classes_), "LeNet5::backward: dlogits size is not n * classes");
  expects(grads.size() == layout_.size(), "LeNet5::backward: gradient buffer size mismatch");
  const int n = n_;
  const auto grad = [&](std::size_t v) { return grads.data() + layout_.var(v).offset; };

  // Dense layer: weight and bias gradients, then dx = dy W masked by the input's ReLU.
  const auto dense = [&](std::size_t wv, std::size_t bv, const float* in, const float* dy,
                         float* dx, int d_in, int d_out) {
    kernels::dense_backward_weight(in, dy, grad(wv), n, d_in, d_out);
    kernels::bias_backward(dy, grad(bv), n, d_out, 1);
    dense_backward_data(params, wv, dy, dx, n, d_in, d_out);
    kernels::relu_backward(in, dx, sz(n, d_in));
  };
  dense(kW5, kB5, fc2_.data(), dlogits.data(), grad_small_.data(), kFc2, num_classes_);  // d fc2
  dense(kW4, kB4, fc1_.data(), grad_small_.data(), grad_big_.data(), kFc1, kFc2);        // d fc1
  dense(kW3, kB3, pool2_.data(), grad_big_.data(), grad_small_.data(), kPool2, kFc1);    // d pool2
  if (lanes_) backward_convs_lanes(params, grads.data(), n);
  else backward_convs_per_example(params, grads.data(), n);
}

double LeNet5::forward_flops() const {
  const auto conv = [](const ConvShape& s) {
    return 2.0 * s.positions() * s.patch() * s.out_c;
  };
  return conv(kConv1) + conv(kConv2) +
         2.0 * (kPool2 * kFc1 + kFc1 * kFc2 + kFc2 * static_cast<double>(num_classes_));
}

std::size_t LeNet5::activation_bytes() const {
  const std::size_t kept_floats = kPool1 + kPool2 + kFc1 + kFc2 + static_cast<std::size_t>(num_classes_);
  const std::size_t kept_args = kPool1 + kPool2;  // one byte per pooled output
  const std::size_t scratch_floats = static_cast<std::size_t>(kConv1.out_size()) +
                                     std::max(kPool2, kFc2) + std::max(kPool1, kFc1);
  return sizeof(float) * (kept_floats + scratch_floats) + kept_args;
}

std::size_t LeNet5::max_layer_bytes() const {
  return sizeof(float) * static_cast<std::size_t>(kConv1.out_size());
}

std::size_t LeNet5::workspace_bytes() const {
  return sizeof(float) *
         std::max(kernels::conv2d_scratch_size(kConv1), kernels::conv2d_scratch_size(kConv2));
}

}  // namespace fedhpc::model
