#pragma once
/// The federated round loop (docs/design.md, "One round, as data").
#include <memory>
#include <string>
#include <vector>

#include "fedhpc/comm/aggregate.hpp"
#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/comm/exact_sum.hpp"
#include "fedhpc/compress/residual_store.hpp"
#include "fedhpc/compress/update_codec.hpp"
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
  /// with error feedback if any) times `weight` to the round's aggregate and
  /// sets its uplink bytes. False, with nothing added and the client's
  /// residual untouched, if the update is not finite or too large.
  bool add_update(int round, int client, std::int64_t weight, std::int64_t& bytes_up);
  /// Sparse path: adds index j to the rank-local support (once per round).
  void touch(std::size_t j) {
    if (touched_[j]) return;
    touched_[j] = 1;
    support_.push_back(static_cast<std::uint32_t>(j));
  }
  /// Adds weight * decoded_ to the rank-local sum of the round's path.
  bool accumulate(int client, std::int64_t weight);
  /// Combines the ranks' sums (tail included) with the round's path; fills
  /// delta_ with the weighted mean update when the total weight is positive.
  comm::AggregateStats aggregate(int round, std::int64_t sampled);
  /// Server-side error feedback: delta_ <- decode(codec(delta_ + e)), e keeps the rest.
  std::int64_t server_feedback(int round);
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
  std::vector<float> update_;              // (P) client update (+ residual) before the codec
  std::vector<float> decoded_;             // (P) what the server decodes
  std::unique_ptr<compress::ResidualStore> residuals_;  // client error feedback, one slot per own client
  std::vector<std::int32_t> slot_of_;      // (num_clients) residual slot of an own client, -1 otherwise
  std::vector<std::int32_t> slot_client_;  // (own clients) client of each slot
  std::uint64_t state_bytes_ = 0;          // a client's residual on its device (memory model)
  std::vector<float> server_residual_;     // (P) server error feedback state (empty without)
  comm::AggregatePath path_ = comm::AggregatePath::kDense;  // how ranks combine
  std::vector<std::uint8_t> touched_;      // sparse path: (P) index in support_
  std::vector<std::uint32_t> support_;     // sparse path: rank-local support
  comm::SparseScratch sparse_scratch_;     // sparse path: gathered pairs
  struct Pending {                         // quantized path: a message waiting for the scale
    int client = 0;
    std::int64_t weight = 0;
    compress::EncodedUpdate msg;           // codec message (bytes), or raw floats without codec
  };
  std::vector<Pending> pending_;           // (pool; first pending_count_ in use)
  std::size_t pending_count_ = 0;
  double pending_max_ = 0.0;               // max |weight * decoded| of the pending messages
  std::vector<std::int32_t> codes_;        // quantized path: (P) integer sums
  comm::AggregateStats last_stats_;        // of the last aggregation
  bool resume_ = false;
  std::int64_t start_round_ = 0;           // first round to run
  std::int64_t client_rows_ = 0;           // rows of /clients written so far
  std::int64_t snapshots_ = 0;             // rows of /model written so far
  double elapsed_before_ = 0.0;            // wall time of rounds run before a resume
  bool stop_ = false;                      // a stop signal was agreed this round
  Summary summary_;
};

}  // namespace fedhpc::sim
