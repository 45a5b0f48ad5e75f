#pragma once
/// The results layout (docs/output.md) in one place: /rounds, /clients,
/// /client_info, /model and /execution, written collectively each round.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/io/results_file.hpp"
#include "fedhpc/sim/records.hpp"

namespace fedhpc::sim {

/// Run-level facts written as attributes.
struct RunMetadata {
  std::string config_ini;     ///< effective configuration (keys that affect results)
  std::string execution_ini;  ///< run.output, run.overwrite, run.progress
  std::uint64_t seed = 0;
  std::int64_t num_clients = 0;
  std::int64_t num_params = 0;
  std::int64_t num_classes = 0;
  std::int64_t clients_per_round = 0;
  std::int64_t rounds = 0;
  std::string model_layout;  ///< "name:shape:kind;..." of every variable
};

/// Static per-client facts for the clients [first, first + n) of this rank's slice.
struct ClientInfoSlice {
  std::int64_t first = 0;
  std::vector<std::int64_t> client_id, num_samples, memory_budget_bytes, rank;
  std::vector<std::int64_t> label_histogram;  // (n, num_classes)
};

/// Writes one run's results file.
class Recorder {
 public:
  Recorder(const comm::Communicator& comm, const std::string& path, const RunMetadata& meta);
  /// /client_info (and /execution/client_rank).
  void write_client_info(const ClientInfoSlice& slice);
  /// Appends a round: the summary row (rank 0) and this rank's client rows at
  /// positions my_rows among the round's `sampled` rows.
  void write_round(const RoundRecord& round, std::int64_t sampled,
                   std::span<const std::int64_t> my_rows, std::span<const ClientRecord> mine);
  /// Appends a model snapshot.
  void write_snapshot(std::int64_t round, std::span<const float> params);
  /// Closes the file and moves it to its final name.
  void commit();

 private:
  const comm::Communicator* comm_;
  io::ResultsFile file_;
  std::int64_t num_clients_, num_classes_, num_params_;
};

}  // namespace fedhpc::sim
