#pragma once
/// The federated round loop (docs/design.md, "One round, as data"): set up
/// once from the config, then each round runs sample -> downlink -> local step
/// -> uplink -> aggregate -> server stages -> write over the seams
/// (trainer, uplink, round aggregator, server stages; docs/design.md, "Seams").
#include <memory>
#include <string>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/comm/round_aggregator.hpp"
#include "fedhpc/core/fault.hpp"
#include "fedhpc/config/run_config.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/fl/estimate_phase.hpp"
#include "fedhpc/fl/metrics.hpp"
#include "fedhpc/fl/posttrain_phase.hpp"
#include "fedhpc/fl/round_tally.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/sim/checkpoint.hpp"
#include "fedhpc/sim/client_shard.hpp"
#include "fedhpc/sim/evaluator.hpp"
#include "fedhpc/sim/federated_validation.hpp"
#include "fedhpc/sim/recorder.hpp"
#include "fedhpc/sim/server_stages.hpp"
#include "fedhpc/sim/uplink.hpp"
#include "fedhpc/train/local_trainer.hpp"

namespace fedhpc::sim {

/// A whole run: set up by the constructor (which validates inputs and may
/// throw ConfigError before any output exists), executed by run().
class Simulation {
 public:
  /// With resume, reads and verifies the checkpoint (run.checkpoint) and
  /// restores the server model and every component's state from it.
  Simulation(const RunConfig& cfg, std::string effective_ini, std::string execution_ini,
             const comm::Communicator& comm, bool resume = false);
  ~Simulation();
  /// How run() ended.
  enum class Outcome { kCompleted, kStopped };
  /// Runs the remaining rounds, writing each to the results file. Checkpoints
  /// every run.checkpoint_every rounds; on SIGTERM/SIGUSR1 (agreed across
  /// ranks at the end of a round) checkpoints and returns kStopped. On
  /// completion commits the results file and removes the checkpoint.
  Outcome run();
  /// Aggregate throughput of the last run() (for the closing summary).
  struct Summary {
    double seconds = 0.0;
    double final_accuracy = 0.0;
    std::int64_t client_updates = 0;
  };
  const Summary& summary() const { return summary_; }

 private:
  /// This rank's client rows of a round (positions among the sampled, records).
  struct ClientRows {
    std::vector<std::int64_t> index;
    std::vector<ClientRecord> records;
  };
  RoundRecord run_round(int round, ClientRows& rows);
  /// Local step and uplink of one client this rank owns; its record.
  ClientRecord train_client(int round, const ClientVisit& v, fl::RoundTally& tally);
  /// Collective: tally and sums over ranks; the round's counts into rec.
  comm::ReduceResult aggregate(RoundRecord& rec, std::int64_t trained);
  /// Execution figures (summed over ranks: one small reduction).
  void record_execution(const comm::AggregateStats& st, RoundRecord& rec) const;
  Outcome run_rounds(Recorder& recorder);
  /// Runs a phase before the rounds over the client shard (exact mean over ranks).
  void run_phase(fl::EstimatePhase& phase);
  /// The post-training phase at the end of the training rounds: compresses the model.
  void begin_posttrain();
  /// After its fine-tuning rounds: the final compressed model, its snapshot and /compression.
  void finish_posttrain(Recorder& recorder);
  void write_client_info(Recorder& recorder);
  void checkpoint(Recorder& recorder, std::int64_t next_round, double elapsed);
  void print_progress(const RoundRecord& r) const;

  RunConfig cfg_;
  std::string effective_ini_;
  std::string execution_ini_;
  const comm::Communicator* comm_;
  std::unique_ptr<data::FederatedDataset> data_;
  std::unique_ptr<model::Network> net_;
  std::unique_ptr<ClientShard> shard_;
  std::unique_ptr<train::LocalTrainer> trainer_;
  std::unique_ptr<Evaluator> evaluator_;
  std::unique_ptr<Uplink> uplink_;                 // client -> server
  std::unique_ptr<comm::RoundAggregator> aggregator_;  // ranks -> mean update
  std::unique_ptr<ServerStages> server_;           // optimizer and stages
  std::vector<std::unique_ptr<fl::EstimatePhase>> phases_;  // before the rounds
  fl::PosttrainPhase* post_ = nullptr;             // after the rounds (a stage of server_), or null
  std::unique_ptr<FederatedValidation> validation_;  // with post_
  std::vector<float> trained_;                     // (P) the model post_ compressed (once it ran)
  double posttrain_seconds_ = 0.0;
  int train_rounds_ = 0;                           // training rounds (0 with posttrain.input)
  InjectedFault fault_ = injected_fault();  // tests only (FEDHPC_FAULT)
  int total_rounds_ = 0;                           // plus the post-training fine-tuning rounds
  std::vector<fl::Component*> components_;         // uplink_, server_: series, tally, state
  fl::Metrics metrics_;                            // series declared by components
  fl::TallyLayout tally_layout_;                   // exact counters summed with the update
  struct Slots {                                   // the loop's own counters
    fl::TallyLayout::Slot loss_sum, examples, bytes_up, diverged, stop;
  } slots_{};
  std::vector<float> model_;                       // (P) server model, replicated
  std::vector<double> delta_;                      // (P) mean update
  bool resume_ = false;
  std::int64_t start_round_ = 0;                   // first round to run
  std::int64_t client_rows_ = 0;                   // rows of /clients written so far
  std::int64_t snapshots_ = 0;                     // rows of /model written so far
  RankWork work_;                                  // what this rank trained in the current round
  PhaseSeconds time_;                              // this rank's time in the current round
  std::uint64_t memory_estimate_bytes_ = 0;        // the largest rank's memory estimate
  std::string memory_estimate_;                    // its terms (rank_memory.hpp)
  double elapsed_before_ = 0.0;                    // wall time of rounds run before a resume
  bool stop_ = false;                              // a stop signal was agreed this round
  Summary summary_;
};

}  // namespace fedhpc::sim
