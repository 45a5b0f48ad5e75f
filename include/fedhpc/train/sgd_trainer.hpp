#pragma once
/// Minibatch SGD with momentum, weight decay and the FedProx proximal term:
///   g = dL/dw + wd * w + mu * (w - w_global);  v = m * v + g;  w -= lr * v
#include <vector>

#include "fedhpc/train/local_trainer.hpp"

namespace fedhpc::train {

/// Backprop SGD client; batches are gathered into one resident buffer.
class SgdTrainer final : public LocalTrainer {
 public:
  SgdTrainer(const ClientSection& cfg, model::Network& net);
  LocalResult train(std::span<const float> global, std::span<float> local,
                    const data::ExampleView& data, Rng& rng) override;
  MemoryBreakdown peak_memory(std::int64_t num_samples) const override;
  double flops(std::int64_t num_samples) const override;

 private:
  std::int64_t total_steps(std::int64_t n) const;
  ClientSection cfg_;
  model::Network* net_;
  std::vector<float> grads_;     // (P)
  std::vector<float> velocity_;  // (P) momentum buffer
  std::vector<float> batch_x_;   // (batch, input)
  std::vector<std::int32_t> batch_y_;
  std::vector<float> dlogits_;   // (batch, classes)
  std::vector<std::int32_t> order_;  // example permutation of the current epoch
};

}  // namespace fedhpc::train
