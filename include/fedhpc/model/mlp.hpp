#pragma once
/// Multilayer perceptron: input -> hidden widths (each dense + ReLU) -> classes
/// (dense, logits). Variables fc1.weight (h1, input), fc1.bias (h1), ..., fcL.
#include <cstddef>
#include <span>
#include <vector>

#include "fedhpc/core/aligned_allocator.hpp"
#include "fedhpc/model/network.hpp"

namespace fedhpc::model {

/// Dense ReLU network over flattened inputs.
class Mlp final : public Network {
 public:
  /// Throws ConfigError("model.hidden") for a non-positive width.
  Mlp(data::Shape input, int num_classes, std::vector<int> hidden);

  void reserve(int max_batch) override;
  std::span<const float> forward(ParamSource& params, const float* x, int n) override;
  void backward(ParamSource& params, std::span<const float> dlogits,
                std::span<float> grads) override;
  double forward_flops() const override;
  std::size_t activation_bytes() const override;
  std::size_t max_layer_bytes() const override;

 private:
  int num_layers() const { return static_cast<int>(widths_.size()) - 1; }
  /// Output of layer l (n, widths_[l + 1]) inside acts_.
  float* output(int l) { return acts_.data() + act_offset_[static_cast<std::size_t>(l)]; }

  std::vector<int> widths_;             // input, hidden..., classes
  std::vector<std::size_t> act_offset_; // start of each layer's output in acts_
  AlignedVector<float> acts_;             // layer outputs, layer l: (max_batch, widths_[l + 1])
  AlignedVector<float> grad_a_, grad_b_;  // (max_batch, max hidden width) ping-pong gradients
  int max_width_ = 0;                   // widest hidden layer
  int max_batch_ = 0;
  int n_ = 0;                           // batch of the last forward
  const float* x_ = nullptr;            // (n_, input) input of the last forward
};

}  // namespace fedhpc::model
