#pragma once
/// Minibatch SGD with momentum, weight decay and the FedProx proximal term
/// (train/sgd_update.hpp) over any parameter store (fp32 or encoded).
#include <memory>
#include <vector>

#include "fedhpc/train/local_trainer.hpp"
#include "fedhpc/train/param_store.hpp"

namespace fedhpc::train {

/// Backprop SGD client; batches are gathered into one resident buffer.
class SgdTrainer final : public LocalTrainer {
 public:
  SgdTrainer(const ClientSection& cfg, model::Network& net, std::unique_ptr<ParamStore> store);
  void begin_round(int round, std::span<const float> global) override;
  LocalResult train(std::span<float> local, const data::ExampleView& data, Rng& rng) override;
  MemoryBreakdown peak_memory(std::int64_t num_samples) const override;
  double flops(std::int64_t num_samples) const override;
  std::int64_t downlink_bytes() const override { return store_->downlink_bytes(); }
  std::int64_t uplink_bytes() const override { return store_->uplink_bytes(); }

 private:
  std::int64_t total_steps(std::int64_t n) const;
  ClientSection cfg_;
  model::Network* net_;
  std::unique_ptr<ParamStore> store_;
  SgdHyper hyper_;
  std::vector<float> grads_;     // (P)
  std::vector<float> velocity_;  // (P) momentum buffer
  std::vector<float> batch_x_;   // (batch, input)
  std::vector<std::int32_t> batch_y_;
  std::vector<float> dlogits_;   // (batch, classes)
  std::vector<std::int32_t> order_;  // example permutation of the current epoch
};

}  // namespace fedhpc::train
