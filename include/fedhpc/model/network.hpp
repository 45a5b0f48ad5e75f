#pragma once
/// A network: its parameter layout, forward, and backward for an arbitrary
/// output gradient. One instance per rank holds the resident working buffers
/// (activations, im2col scratch) sized once by reserve().
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/model/param_layout.hpp"
#include "fedhpc/model/param_source.hpp"

namespace fedhpc::model {

/// Abstract network; virtual calls happen once per minibatch. forward/backward
/// read parameters only through ParamSource, one variable held at a time and
/// released as soon as its layer is done (backward acquires only the weights
/// it needs for input gradients).
class Network {
 public:
  virtual ~Network() = default;
  const ParamLayout& layout() const { return layout_; }
  int input_size() const { return input_.size(); }
  int num_classes() const { return num_classes_; }

  /// Initialises params (He-uniform weights, zero biases) from rng.
  void init(std::span<float> params, Rng& rng) const;
  /// Sizes working buffers for minibatches of up to max_batch examples. No
  /// allocation happens in forward/backward after this.
  virtual void reserve(int max_batch) = 0;
  /// Logits (n, classes) for x (n, input_size); keeps what backward needs,
  /// including the pointer x, which must stay valid until backward().
  /// n must be in [1, max_batch] (InternalError otherwise).
  virtual std::span<const float> forward(ParamSource& params, const float* x, int n) = 0;
  /// Gradient of sum_i <dlogits_i, f(x_i)> w.r.t. all parameters for the
  /// batch of the last forward(); overwrites grads (layout().size()).
  virtual void backward(ParamSource& params, std::span<const float> dlogits,
                        std::span<float> grads) = 0;

  /// Multiply-add FLOPs (2 per MAC) of one example's forward pass.
  virtual double forward_flops() const = 0;
  /// Bytes per example of every buffer that grows with the batch: activations
  /// kept for backward plus backward's gradient scratch (memory model).
  virtual std::size_t activation_bytes() const = 0;
  /// Bytes of the largest single layer output per example (inference memory).
  virtual std::size_t max_layer_bytes() const = 0;
  /// Bytes of working buffers independent of the batch (e.g. im2col scratch).
  virtual std::size_t workspace_bytes() const { return 0; }

 protected:
  Network(data::Shape input, int num_classes) : input_(input), num_classes_(num_classes) {}
  ParamLayout layout_;
  data::Shape input_;
  int num_classes_;
};

/// Builds the network named by cfg.arch for the given input/classes.
/// Throws ConfigError when the input does not fit the architecture.
std::unique_ptr<Network> make_network(const ModelSection& cfg, data::Shape input,
                                      int num_classes);

}  // namespace fedhpc::model
