#pragma once
/// The results layout (docs/output.md) in one place: /rounds, /clients,
/// /client_info, /model and /execution, written collectively each round.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/fl/metrics.hpp"
#include "fedhpc/fl/posttrain_phase.hpp"
#include "fedhpc/io/results_file.hpp"
#include "fedhpc/model/param_layout.hpp"
#include "fedhpc/sim/records.hpp"

namespace fedhpc::sim {

/// Run-level facts written as attributes.
struct RunMetadata {
  std::string config_ini;     ///< effective configuration (keys that affect results)
  std::string execution_ini;  ///< execution-only keys: output, overwrite, progress, checkpointing
  std::uint64_t seed = 0;
  std::int64_t num_clients = 0;
  std::int64_t num_params = 0;
  std::int64_t num_classes = 0;
  std::int64_t clients_per_round = 0;
  std::int64_t rounds = 0;
  std::string model_layout;  ///< "name:shape:kind;..." of every variable
  std::int64_t memory_estimate_bytes = 0;  ///< the largest rank's estimate (rank_memory.hpp)
  std::string memory_estimate;             ///< that estimate's terms, one "<bytes> <what>" line each
};

/// Static per-client facts for the clients [first, first + n) of this rank's slice.
struct ClientInfoSlice {
  std::int64_t first = 0;
  std::vector<std::int64_t> client_id, num_samples, memory_budget_bytes, rank;
  std::vector<std::int64_t> label_histogram;  // (n, num_classes)
};

/// A post-training compression (docs/output.md, "/compression").
struct CompressionRecord {
  std::string method;
  fl::CompressionReport report;
  fl::ValidationScore validation_before, validation_after;  ///< federated validation
  double test_accuracy_before = 0.0, test_accuracy_after = 0.0;
  double test_loss_before = 0.0, test_loss_after = 0.0;
  std::int64_t validation_clients = 0, validation_examples = 0;
  std::int64_t evaluations = 0;  ///< federated validation passes
  std::int64_t snapshot = 0;     ///< row of /model holding the decoded compressed model
  double seconds = 0.0;          ///< wall time of the compression (/execution)
};

/// Rows already in a results file being continued after a checkpoint.
struct ResumePoint {
  std::int64_t rounds = 0;       ///< rows of the per-round series
  std::int64_t client_rows = 0;  ///< rows of the per-client-row series
  std::int64_t snapshots = 0;    ///< rows of the /model series
  std::int64_t rank_rows = 0;    ///< rows of the per-rank series (/execution/rank, ...)
};

/// Writes one run's results file.
class Recorder {
 public:
  /// Creates the file with the loop's series and those declared in `metrics`,
  /// or (resume != nullptr) reopens "<path>.part" and cuts every series back
  /// to the resume point.
  Recorder(const comm::Communicator& comm, const std::string& path, const RunMetadata& meta,
           const fl::Metrics& metrics, const ResumePoint* resume = nullptr);
  /// /client_info (and /execution/client_rank).
  void write_client_info(const ClientInfoSlice& slice);
  /// Appends a round: the summary row (rank 0) and this rank's client rows at
  /// positions my_rows among the round's `sampled` rows, for the loop's
  /// records and the declared metrics (client values in the order of `mine`).
  void write_round(const RoundRecord& round, std::int64_t sampled,
                   std::span<const std::int64_t> my_rows, std::span<const ClientRecord> mine,
                   const fl::Metrics& metrics);
  /// One row per rank: where each rank's time went in `round` and what it trained (collective).
  void write_phases(std::int64_t round, const PhaseSeconds& mine, const RankWork& work);
  /// Appends a model snapshot and the declared snapshot series of `metrics`.
  void write_snapshot(std::int64_t round, std::span<const float> params, const fl::Metrics& metrics);
  /// Writes a phase's float64 series (rank 0's values) at `path`, creating its groups.
  void write_phase_series(const std::string& path, const std::vector<double>& values);
  /// Writes /compression (once, after the last snapshot); layout names the variables.
  void write_compression(const CompressionRecord& c, const model::ParamLayout& layout);
  /// Flushes everything written so far to disk (before a checkpoint copy).
  void flush();
  /// Closes the file and moves it to its final name.
  void commit();
  const std::string& part_path() const { return part_path_; }
  /// See io::ResultsFile::abandon.
  void abandon() noexcept { file_.abandon(); }

 private:
  /// Which dimension a series grows along.
  enum class Axis { kRound, kClientRow, kSnapshot, kRankRow };
  struct Series {
    std::string path;
    Axis axis;
  };
  template <class T>
  void series(const std::string& path, Axis axis, std::size_t cols, std::size_t chunk);
  const comm::Communicator* comm_;
  bool creating_;
  std::string part_path_;
  std::vector<Series> series_;
  std::vector<std::string> groups_;  // groups write_phase_series created
  io::ResultsFile file_;
  std::int64_t num_clients_, num_classes_, num_params_;
};

}  // namespace fedhpc::sim
