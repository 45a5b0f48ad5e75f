#pragma once
/// Minibatch SGD with momentum, weight decay and the FedProx proximal term
/// (train/sgd_update.hpp) over any parameter store (fp32 or encoded).
#include <memory>
#include <vector>

#include "fedhpc/core/aligned_allocator.hpp"
#include "fedhpc/train/local_trainer.hpp"
#include "fedhpc/train/param_store.hpp"

namespace fedhpc::train {

/// Backprop SGD client; batches are gathered into one resident buffer.
class SgdTrainer final : public LocalTrainer {
 public:
  /// delta_uplink: the client sends an encoded update (an uplink codec), so it
  /// keeps the received model and builds the fp32 update (peak_memory).
  SgdTrainer(const ClientSection& cfg, model::Network& net, std::unique_ptr<ParamStore> store,
             bool delta_uplink = false);
  void begin_round(int round, std::span<const float> global) override;
  LocalResult train(const data::ExampleView& data, ClientStreams& streams) override;
  /// The client's decoded parameters against the server model: the server
  /// reads a model-sized message (fp32 or the stored form) as that update.
  fl::ClientUpload upload() const override;
  MemoryBreakdown peak_memory(std::int64_t num_samples) const override;
  double flops(std::int64_t num_samples) const override;
  std::int64_t downlink_bytes() const override { return store_->downlink_bytes(); }
  double fp32_weight_fraction() const override { return store_->fp32_weight_fraction(); }

 private:
  std::int64_t total_steps(std::int64_t n) const;
  ClientSection cfg_;
  bool delta_uplink_;
  model::Network* net_;
  std::unique_ptr<ParamStore> store_;
  SgdHyper hyper_;
  std::span<const float> global_;  // (P) the round's server model
  std::vector<float> local_;     // (P) the last client's parameters as the server receives them
  std::vector<float> grads_;     // (P)
  std::vector<float> velocity_;  // (P) momentum buffer
  AlignedVector<float> batch_x_;   // (batch, input)
  std::vector<std::int32_t> batch_y_;
  std::vector<float> dlogits_;   // (batch, classes)
  std::vector<std::int32_t> order_;  // example permutation of the current epoch
};

}  // namespace fedhpc::train
