#pragma once
/// Mixed fleets (client.trainer = auto; docs/ntk_zo.md): a client whose
/// memory budget holds a backprop step trains with backprop, the others train
/// backprop-free (zo) in the same round. Both contributions are model changes
/// (backprop: local model minus the round's model; zo: -client.lr g, clipped
/// per client), aggregated together with the usual sample weights.
/// Records /clients/trainer (0 backprop, 1 zo, -1 not trained) and
/// /rounds/clients_backprop, /rounds/clients_zo.
#include <memory>

#include "fedhpc/fl/component.hpp"
#include "fedhpc/train/local_trainer.hpp"

namespace fedhpc::train {

class MixedTrainer final : public LocalTrainer, public fl::Component {
 public:
  MixedTrainer(std::unique_ptr<LocalTrainer> backprop, std::unique_ptr<LocalTrainer> zo);
  void begin_round(int round, std::span<const float> global) override;
  void prepare_client(int client, std::int64_t num_samples, std::uint64_t budget) override;
  LocalResult train(const data::ExampleView& data, ClientStreams& streams) override;
  fl::ClientUpload upload() const override { return current().upload(); }
  /// The backprop client's peak (the larger): what a budget-less caller sees.
  MemoryBreakdown peak_memory(std::int64_t num_samples) const override;
  MemoryBreakdown peak_memory_within(std::int64_t num_samples, std::uint64_t budget) const override;
  /// The backprop client's FLOPs: what a budget-less caller sees.
  double flops(std::int64_t num_samples) const override { return backprop_->flops(num_samples); }
  double flops_within(std::int64_t num_samples, std::uint64_t budget) const override;
  std::int64_t downlink_bytes() const override { return backprop_->downlink_bytes(); }
  double fp32_weight_fraction() const override { return backprop_->fp32_weight_fraction(); }
  fl::Component* component() override { return this; }

  void declare(fl::Metrics& m, fl::TallyLayout& t) override;
  void record_client(int client, std::size_t row, fl::Metrics& m) const override;
  void tally(fl::RoundTally& t) const override;
  void record_round(const fl::RoundTally& t, fl::Metrics& m) const override;

 private:
  /// True if a backprop step of num_samples fits budget.
  bool fits_backprop(std::int64_t num_samples, std::uint64_t budget) const;
  const LocalTrainer& current() const { return zo_mode_ ? *zo_ : *backprop_; }
  std::unique_ptr<LocalTrainer> backprop_, zo_;
  bool zo_mode_ = false;
  int client_ = -1;  // the client prepared last
  std::int64_t trained_[2] = {0, 0};  // this rank's clients this round: backprop, zo
  fl::Metrics::Id trainer_id_ = 0, backprop_id_ = 0, zo_id_ = 0;
  fl::TallyLayout::Slot backprop_slot_{}, zo_slot_{};
};

}  // namespace fedhpc::train
