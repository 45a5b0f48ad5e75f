#include "fedhpc/train/mixed_trainer.hpp"

namespace fedhpc::train {

MixedTrainer::MixedTrainer(std::unique_ptr<LocalTrainer> backprop, std::unique_ptr<LocalTrainer> zo)
    : backprop_(std::move(backprop)), zo_(std::move(zo)) {}

void MixedTrainer::begin_round(int round, std::span<const float> global) {
  backprop_->begin_round(round, global);
  zo_->begin_round(round, global);
  trained_[0] = trained_[1] = 0;
  client_ = -1;
}

bool MixedTrainer::fits_backprop(std::int64_t num_samples, std::uint64_t budget) const {
  return backprop_->peak_memory(num_samples).total() <= budget;
}

void MixedTrainer::prepare_client(int client, std::int64_t num_samples, std::uint64_t budget) {
  zo_mode_ = !fits_backprop(num_samples, budget);
  client_ = client;
}

LocalResult MixedTrainer::train(const data::ExampleView& data, ClientStreams& streams) {
  ++trained_[zo_mode_ ? 1 : 0];
  return zo_mode_ ? zo_->train(data, streams) : backprop_->train(data, streams);
}

MemoryBreakdown MixedTrainer::peak_memory(std::int64_t num_samples) const {
  return backprop_->peak_memory(num_samples);
}

MemoryBreakdown MixedTrainer::peak_memory_within(std::int64_t num_samples, std::uint64_t budget) const {
  return fits_backprop(num_samples, budget) ? backprop_->peak_memory(num_samples) : zo_->peak_memory(num_samples);
}

double MixedTrainer::flops_within(std::int64_t num_samples, std::uint64_t budget) const {
  return fits_backprop(num_samples, budget) ? backprop_->flops(num_samples) : zo_->flops(num_samples);
}

void MixedTrainer::declare(fl::Metrics& m, fl::TallyLayout& t) {
  trainer_id_ = m.declare("/clients/trainer", fl::Axis::kClientRow);
  backprop_id_ = m.declare("/rounds/clients_backprop", fl::Axis::kRound);
  zo_id_ = m.declare("/rounds/clients_zo", fl::Axis::kRound);
  backprop_slot_ = t.reserve("clients_backprop");
  zo_slot_ = t.reserve("clients_zo");
}

void MixedTrainer::record_client(int client, std::size_t row, fl::Metrics& m) const {
  m.set_client_int(trainer_id_, row, client == client_ ? (zo_mode_ ? 1 : 0) : -1);
}

void MixedTrainer::tally(fl::RoundTally& t) const {
  t.add(backprop_slot_, trained_[0]);
  t.add(zo_slot_, trained_[1]);
}

void MixedTrainer::record_round(const fl::RoundTally& t, fl::Metrics& m) const {
  m.set_int(backprop_id_, t.get(backprop_slot_));
  m.set_int(zo_id_, t.get(zo_slot_));
}

}  // namespace fedhpc::train
