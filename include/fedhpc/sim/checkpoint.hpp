#pragma once
/// Checkpoints (docs/checkpoint.md). A checkpoint is two files, each written
/// to a temporary name and renamed into place:
///   <ckpt>.results  copy of the results file as it was after the last
///                   completed round (flushed first), and
///   <ckpt>          the state: config, round position, row counts, the
///                   named replicated state of every component (server
///                   model, optimizer state, server error-feedback residual,
///                   ...; one dataset "/<name>" each), checksum, and every
///                   client's error-feedback
///                   residual (encoded, written collectively: each rank its
///                   own clients), each with its own checksum.
/// The state file is renamed last, so it is the commit point: a run killed at
/// any moment leaves the previous checkpoint usable.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/compress/residual_store.hpp"
#include "fedhpc/fl/named_state.hpp"

namespace fedhpc::sim {

/// Everything a run needs to continue bitwise identically.
struct Checkpoint {
  std::string config_ini;          ///< effective config (result keys)
  std::int64_t next_round = 0;     ///< rounds completed
  std::int64_t client_rows = 0;    ///< rows of /clients written
  std::int64_t snapshots = 0;      ///< rows of /model written
  double elapsed_seconds = 0.0;    ///< wall time of the rounds so far (timing only)
  fl::NamedState state;            ///< "model" and every component's replicated state
  std::int64_t residual_entries = 0;   ///< client residuals stored (all ranks)
  std::int64_t residual_bytes = 0;     ///< their encoded bytes (all ranks)
};

/// This rank's per-client persistent state: residual slots and their clients.
struct ShardState {
  const compress::ResidualStore* store = nullptr;  ///< null: no client state
  std::span<const std::int32_t> slot_client;       ///< slot -> client id
  std::span<const std::int32_t> slot_round;        ///< slot -> round of its last store
};

/// Path of the results copy that belongs to checkpoint `path`.
std::string results_copy_path(const std::string& path);

/// Collective. Copies the (flushed) results file `results_part` and writes the
/// state; rank 0 does the file copies, every rank takes part in the HDF5 write.
void write_checkpoint(const comm::Communicator& comm, const std::string& path,
                      const Checkpoint& ckpt, const std::string& results_part,
                      const ShardState& shard = {});

/// Reads and verifies checkpoint `path` (any rank). Throws ConfigError naming
/// run.checkpoint for a missing, truncated or corrupt checkpoint, and naming
/// the differing keys when it was written by another configuration.
Checkpoint read_checkpoint(const std::string& path, const std::string& config_ini);

/// Loads the client residuals of checkpoint `path` whose clients this rank
/// owns (slot_of[client] >= 0) into `store`, reading only their bytes and
/// verifying each entry's checksum. Any rank count may have written it.
/// Throws ConfigError naming run.checkpoint for a missing or corrupt entry.
/// slot_round (one per slot of store) receives each entry's round of last store.
void read_shard_state(const std::string& path, std::span<const std::int32_t> slot_of,
                      compress::ResidualStore& store, std::span<std::int32_t> slot_round);

/// Collective: replaces `results_part` by the checkpoint's results copy (rank 0).
void restore_results(const comm::Communicator& comm, const std::string& path,
                     const std::string& results_part);

/// Removes the checkpoint files (rank 0), after a run has completed.
void remove_checkpoint(const comm::Communicator& comm, const std::string& path);

}  // namespace fedhpc::sim
