#pragma once
/// The server side of a round: the ordered stage chain around the optimizer
/// step (fl/server_stage.hpp). Owns the optimizer and the stages; declares
/// /rounds/server_update_bytes (the stages' compressed global update, 0 when
/// none compresses it) and checkpoints the optimizer state as "server_state".
#include <memory>
#include <span>
#include <vector>

#include "fedhpc/fl/server_stage.hpp"
#include "fedhpc/sim/server_optimizer.hpp"

namespace fedhpc::sim {

/// Optimizer plus stages, run identically on every rank.
class ServerStages final : public fl::Component {
 public:
  explicit ServerStages(std::unique_ptr<ServerOptimizer> optimizer);
  /// Appends a stage (order of registration = order of execution).
  void add(std::unique_ptr<fl::ServerStage> stage);
  /// One server step of `round`: before_step of each stage on delta, the
  /// optimizer step on model, after_step of each stage on model.
  void step(int round, std::span<double> delta, std::span<float> model);
  /// The round had no update: nothing ran (the series records 0).
  void skip() noexcept { ran_ = false; }
  /// Every stage's start() on the initial model (new runs only).
  void start(std::span<float> model);
  /// The model clients receive and the test set sees: a stage's published
  /// form of `model`, or `model` itself.
  std::span<const float> published(std::span<const float> model);
  /// What sending the round's model to `client` costs: each stage's
  /// downlink_bytes in order, starting from the trainer's `model_bytes`.
  std::int64_t downlink_bytes(int round, int client, std::int64_t model_bytes);

  void declare(fl::Metrics& m, fl::TallyLayout& t) override;
  void record_client(int client, std::size_t row, fl::Metrics& m) const override;
  void tally(fl::RoundTally& t) const override;
  void record_round(const fl::RoundTally& t, fl::Metrics& m) const override;
  void save(fl::NamedState& s) const override;
  void load(const fl::NamedState& s) override;
  void snapshot(fl::Metrics& m) const override;

 private:
  std::unique_ptr<ServerOptimizer> optimizer_;
  std::vector<std::unique_ptr<fl::ServerStage>> stages_;
  bool ran_ = false;
  std::vector<float> published_;  // (P) a stage's published model, if any
  fl::Metrics::Id update_bytes_ = 0;
};

}  // namespace fedhpc::sim
