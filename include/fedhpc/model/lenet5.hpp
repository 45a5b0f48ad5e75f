#pragma once
/// LeNet-5 for 1x28x28 inputs (61,706 parameters with 10 classes):
///   conv1 (6, 1, 5, 5) pad 2 -> ReLU -> maxpool 2 -> conv2 (16, 6, 5, 5) -> ReLU -> maxpool 2
///   -> fc1 (120, 400) -> ReLU -> fc2 (84, 120) -> ReLU -> fc3 (classes, 84).
/// Each conv block runs conv -> maxpool -> +bias -> ReLU: the per-channel bias
/// and the monotone ReLU commute with the max, so outputs and gradients equal
/// conv -> +bias -> ReLU -> maxpool, with 4x less bias/ReLU work, and the
/// full-resolution conv output is scratch rather than kept for backward.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fedhpc/core/aligned_allocator.hpp"
#include "fedhpc/model/network.hpp"

namespace fedhpc::model {

/// The LeNet-5 variant of METHODS.md.
class LeNet5 final : public Network {
 public:
  /// Throws ConfigError("model.arch") unless input is 1x28x28.
  LeNet5(data::Shape input, int num_classes);

  void reserve(int max_batch) override;
  std::span<const float> forward(ParamSource& params, const float* x, int n) override;
  void backward(ParamSource& params, std::span<const float> dlogits,
                std::span<float> grads) override;
  double forward_flops() const override;
  std::size_t activation_bytes() const override;
  std::size_t max_layer_bytes() const override;
  std::size_t workspace_bytes() const override;

 private:
  /// Batches of at least this many examples run the conv blocks with the batch
  /// innermost (16 lanes); smaller ones per example (im2col + GEMM), where most
  /// of the lanes would be padding. The path depends on n alone: every rank
  /// takes the same one for the same batch.
  static constexpr int kMinLaneBatch = 8;
  void forward_convs_lanes(ParamSource& params, const float* x, int n);
  void forward_convs_per_example(ParamSource& params, const float* x, int n);
  void backward_convs_lanes(ParamSource& params, float* grads, int n);
  void backward_convs_per_example(ParamSource& params, float* grads, int n);

  // E = the batch rounded up to 16 (L, kernels/chwn.hpp) when reserved for at
  // least kMinLaneBatch examples, else the batch B. Lane buffers are (c, h, w, L)
  // and empty below kMinLaneBatch; per-example buffers (B, c, h, w) share them.
  AlignedVector<float> conv_;        // (E, 6, 28, 28) conv output / its gradient (scratch)
  AlignedVector<float> pool1_;       // (E, 6, 14, 14) block-1 output
  std::vector<std::uint8_t> arg1_;   // (E, 6, 14, 14) pool-1 argmax
  std::vector<std::uint8_t> arg2_;   // (E, 16, 5, 5) pool-2 argmax
  AlignedVector<float> pool2_;       // (B, 400) block-2 output, the dense head's input
  AlignedVector<float> fc1_;         // (B, 120)
  AlignedVector<float> fc2_;         // (B, 84)
  AlignedVector<float> logits_;      // (B, classes)
  AlignedVector<float> grad_small_;  // (B, 400) gradient scratch: d fc2, d pool2
  AlignedVector<float> grad_big_;    // (B, 6, 14, 14) gradient scratch: d fc1, d pool1 (per example)
  AlignedVector<float> scratch_;     // im2col cols of one example, or d conv2 in a zero border of 4 (16, 18, 18, L)
  AlignedVector<float> xin_;         // (1, 32, 32, L) input with its zero padding of 2
  AlignedVector<float> pool2c_;      // (16, 5, 5, L) block-2 output
  AlignedVector<float> dpool2_;      // (16, 5, 5, L) d pool2
  AlignedVector<float> dpool1_;      // (6, 14, 14, L) d pool1
  AlignedVector<float> wt_;          // (6, 16, 5, 5) conv2 kernel flipped for its data gradient
  bool lanes_ = false;               // the last forward ran the lane path
  int max_batch_ = 0;
  int n_ = 0;                        // batch of the last forward
  const float* x_ = nullptr;         // (n_, 1, 28, 28) input of the last forward
};

}  // namespace fedhpc::model
