#pragma once
/// What one round of the loop itself produces: one row per sampled client and
/// one summary row. Components (uplink, server stages, methods) declare their
/// own series through fl::Metrics instead of adding fields here.
#include <cstdint>

namespace fedhpc::sim {

/// Outcome of a sampled client (stored as /clients/status).
enum class ClientStatus : std::int32_t {
  kCompleted = 0,   ///< trained and aggregated
  kDropped = 1,     ///< dropped out after receiving the model (client.dropout)
  kOverBudget = 2,  ///< modelled peak memory above its budget, skipped (client.over_budget = skip)
  kDiverged = 3,    ///< produced a non-finite update, not aggregated
};

/// One row of /clients.
struct ClientRecord {
  std::int64_t round = 0;
  std::int64_t client_id = 0;
  std::int64_t num_samples = 0;
  std::int32_t status = 0;
  std::int32_t over_budget = 0;       ///< 1 if peak memory > budget (whatever the policy)
  double train_loss = 0.0;            ///< mean loss over the examples of the local steps (NaN if not trained)
  std::int64_t steps = 0;
  std::int64_t bytes_up = 0;
  std::int64_t bytes_down = 0;
  std::int64_t peak_memory_bytes = 0;
  std::int64_t param_memory_bytes = 0;  ///< stored parameters + transient decoded buffers
  std::int64_t memory_budget_bytes = 0;
  double flops = 0.0;
};

/// One row of /rounds.
struct RoundRecord {
  std::int64_t round = 0;
  double test_accuracy = 0.0;  ///< NaN when not evaluated this round
  double test_loss = 0.0;      ///< NaN when not evaluated this round
  double train_loss = 0.0;     ///< sample-weighted mean over completed clients
  std::int64_t clients_sampled = 0;
  std::int64_t clients_completed = 0;
  std::int64_t clients_dropped = 0;
  std::int64_t clients_over_budget = 0;
  std::int64_t clients_diverged = 0;
  std::int64_t bytes_up = 0;
  std::int64_t bytes_down = 0;
  std::int64_t examples = 0;          ///< training examples processed (with repetition)
  double flops = 0.0;                 ///< client FLOPs of the round
  std::int64_t peak_memory_max = 0;   ///< largest client peak memory among the sampled
  std::int64_t param_memory_bytes = 0;  ///< a client's parameter memory this round (OMC: encoded + transient)
  double param_memory_ratio = 1.0;    ///< param_memory_bytes / (4 * num_params): 1 for fp32 storage
  double fp32_weight_fraction = 1.0;  ///< weight parameters the downlink holds fp32 (PPQ): 1 for fp32 storage
  // Execution (rank-count dependent, written under /execution):
  std::int32_t aggregate_path = 0;    ///< comm::AggregatePath used
  std::int64_t gathered_nnz = 0;      ///< sparse path: support entries gathered (sum over ranks)
  std::int64_t mpi_bytes_sent = 0;    ///< aggregation payload sent, sum over ranks
  std::int64_t mpi_bytes_received = 0;  ///< aggregation payload received, sum over ranks
  std::int64_t rss_bytes = 0;         ///< resident memory, sum over ranks, end of round
  std::int64_t peak_rss_bytes = 0;    ///< peak resident memory so far, sum over ranks
  double wall_seconds = 0.0;          ///< elapsed since the start of the run (timing)
  double round_seconds = 0.0;         ///< duration of the round (timing)
};

/// Where one rank's time went in one round (/execution/*_seconds, one row per
/// rank and round): docs/output.md, "Where the time goes".
struct PhaseSeconds {
  double train = 0.0;      ///< its clients' local steps and uplink encoding
  double wait = 0.0;       ///< waiting for the slowest rank before the reduction (imbalance)
  double aggregate = 0.0;  ///< the reduction itself
  double server = 0.0;     ///< server optimizer and stages
  double eval = 0.0;       ///< test evaluation (its share of the test set)
  double write = 0.0;      ///< results file (round rows, snapshots) and checkpoints
};

/// What one rank trained in one round (/execution/clients_trained,
/// /execution/clients_moved_in, one row per rank and round).
struct RankWork {
  std::int64_t trained = 0;   ///< clients it trained
  std::int64_t moved_in = 0;  ///< of them, clients another rank owns (run.balance = round)
};

}  // namespace fedhpc::sim
