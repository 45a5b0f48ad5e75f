#pragma once
/// The federated round loop (docs/design.md, "One round, as data").
#include <memory>
#include <string>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/comm/exact_sum.hpp"
#include "fedhpc/config/run_config.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/sim/checkpoint.hpp"
#include "fedhpc/sim/evaluator.hpp"
#include "fedhpc/sim/recorder.hpp"
#include "fedhpc/sim/server_optimizer.hpp"
#include "fedhpc/train/local_trainer.hpp"

namespace fedhpc::sim {

/// A whole run: set up by the constructor (which validates inputs and may
/// throw ConfigError before any output exists), executed by run().
class Simulation {
 public:
  /// With resume, reads and verifies the checkpoint (run.checkpoint) and
  /// restores the server model and optimizer from it.
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
  RoundRecord run_round(int round, std::vector<std::int64_t>& my_rows,
                        std::vector<ClientRecord>& mine);
  Outcome run_rounds(Recorder& recorder);
  /// Adds a trained client's update (local_ - model_, through the uplink codec
  /// if any) times `weight` to the accumulator and sets its uplink bytes.
  /// False, with nothing added, if the update is not finite or too large.
  bool add_update(int round, int client, std::int64_t weight, std::int64_t& bytes_up);
  void write_client_info(Recorder& recorder);
  void checkpoint(Recorder& recorder, std::int64_t next_round, double elapsed);
  void print_progress(const RoundRecord& r) const;

  RunConfig cfg_;
  std::string effective_ini_;
  std::string execution_ini_;
  const comm::Communicator* comm_;
  std::unique_ptr<data::FederatedDataset> data_;
  std::unique_ptr<model::Network> net_;
  std::unique_ptr<train::LocalTrainer> trainer_;
  std::unique_ptr<ServerOptimizer> server_;
  std::unique_ptr<Evaluator> evaluator_;
  std::vector<int> owner_;                 // (num_clients) rank of each client
  std::vector<std::uint64_t> budget_;      // (num_clients) bytes
  std::vector<float> model_;               // (P) server model, replicated
  std::vector<float> local_;               // (P) client working model
  std::vector<comm::Fixed> acc_;           // (P + tail) exact round accumulator
  std::vector<double> delta_;              // (P) mean update
  std::unique_ptr<compress::UpdateCodec> uplink_;  // null: updates sent uncompressed
  compress::EncodedUpdate message_;        // the current client's encoded update
  std::vector<float> update_;              // (P) client update before / after the codec
  bool resume_ = false;
  std::int64_t start_round_ = 0;           // first round to run
  std::int64_t client_rows_ = 0;           // rows of /clients written so far
  std::int64_t snapshots_ = 0;             // rows of /model written so far
  double elapsed_before_ = 0.0;            // wall time of rounds run before a resume
  bool stop_ = false;                      // a stop signal was agreed this round
  Summary summary_;
};

}  // namespace fedhpc::sim
