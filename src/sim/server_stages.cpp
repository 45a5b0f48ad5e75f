#include "fedhpc/sim/server_stages.hpp"

#include "fedhpc/core/error.hpp"

namespace fedhpc::sim {

ServerStages::ServerStages(std::unique_ptr<ServerOptimizer> optimizer)
    : optimizer_(std::move(optimizer)) {}

void ServerStages::add(std::unique_ptr<fl::ServerStage> stage) { stages_.push_back(std::move(stage)); }

void ServerStages::step(int round, std::span<double> delta, std::span<float> model) {
  for (auto& s : stages_) s->before_step(round, delta);
  optimizer_->step(model, delta);
  for (auto& s : stages_) s->after_step(round, model);
  ran_ = true;
}

void ServerStages::start(std::span<float> model) {
  for (auto& s : stages_) s->start(model);
}

std::span<const float> ServerStages::published(std::span<const float> model) {
  if (stages_.empty()) return model;
  published_.resize(model.size());
  for (const auto& s : stages_)
    if (s->publish(model, published_)) return published_;
  return model;
}

std::int64_t ServerStages::downlink_bytes(int round, int client, std::int64_t model_bytes) {
  for (auto& s : stages_) model_bytes = s->downlink_bytes(round, client, model_bytes);
  return model_bytes;
}

void ServerStages::snapshot(fl::Metrics& m) const {
  for (const auto& s : stages_) s->snapshot(m);
}

void ServerStages::declare(fl::Metrics& m, fl::TallyLayout& t) {
  update_bytes_ = m.declare("/rounds/server_update_bytes", fl::Axis::kRound);
  for (auto& s : stages_) s->declare(m, t);
}

void ServerStages::record_client(int client, std::size_t row, fl::Metrics& m) const {
  for (const auto& s : stages_) s->record_client(client, row, m);
}

void ServerStages::tally(fl::RoundTally& t) const {
  for (const auto& s : stages_) s->tally(t);
}

void ServerStages::record_round(const fl::RoundTally& t, fl::Metrics& m) const {
  std::int64_t bytes = 0;
  if (ran_)
    for (const auto& s : stages_) bytes += s->update_bytes();
  m.set_int(update_bytes_, bytes);
  for (const auto& s : stages_) s->record_round(t, m);
}

void ServerStages::save(fl::NamedState& s) const {
  s.put("server_state", optimizer_->state());
  for (const auto& st : stages_) st->save(s);
}

void ServerStages::load(const fl::NamedState& s) {
  const auto state = optimizer_->state();
  const auto* v = s.find("server_state");
  if (v == nullptr || v->size() != state.size())
    throw ConfigError("run.checkpoint", "holds server optimizer state of another size");
  std::copy(v->begin(), v->end(), state.begin());
  for (auto& st : stages_) st->load(s);
}

}  // namespace fedhpc::sim
