#pragma once
/// Checkpoints (docs/checkpoint.md). A checkpoint is two files, each written
/// to a temporary name and renamed into place:
///   <ckpt>.results  copy of the results file as it was after the last
///                   completed round (flushed first), and
///   <ckpt>          the state: config, round position, server model and
///                   optimizer state, row counts, checksum.
/// The state file is renamed last, so it is the commit point: a run killed at
/// any moment leaves the previous checkpoint usable.
#include <cstdint>
#include <string>
#include <vector>

#include "fedhpc/comm/communicator.hpp"

namespace fedhpc::sim {

/// Everything a run needs to continue bitwise identically.
struct Checkpoint {
  std::string config_ini;          ///< effective config (result keys)
  std::int64_t next_round = 0;     ///< rounds completed
  std::int64_t client_rows = 0;    ///< rows of /clients written
  std::int64_t snapshots = 0;      ///< rows of /model written
  double elapsed_seconds = 0.0;    ///< wall time of the rounds so far (timing only)
  std::vector<float> model;        ///< server model (P)
  std::vector<float> server_state; ///< server optimizer state
};

/// Path of the results copy that belongs to checkpoint `path`.
std::string results_copy_path(const std::string& path);

/// Collective. Copies the (flushed) results file `results_part` and writes the
/// state; rank 0 does the file copies, every rank takes part in the HDF5 write.
void write_checkpoint(const comm::Communicator& comm, const std::string& path,
                      const Checkpoint& ckpt, const std::string& results_part);

/// Reads and verifies checkpoint `path` (any rank). Throws ConfigError naming
/// run.checkpoint for a missing, truncated or corrupt checkpoint, and naming
/// the differing keys when it was written by another configuration.
Checkpoint read_checkpoint(const std::string& path, const std::string& config_ini);

/// Collective: replaces `results_part` by the checkpoint's results copy (rank 0).
void restore_results(const comm::Communicator& comm, const std::string& path,
                     const std::string& results_part);

/// Removes the checkpoint files (rank 0), after a run has completed.
void remove_checkpoint(const comm::Communicator& comm, const std::string& path);

}  // namespace fedhpc::sim
