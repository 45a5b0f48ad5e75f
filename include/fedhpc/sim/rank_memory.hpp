#pragma once
/// What a rank will allocate for a run, estimated before it allocates, and
/// the refusal of a run that cannot fit its node (docs/cluster.md, "Memory").
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/config/run_config.hpp"
#include "fedhpc/data/dataset.hpp"

namespace fedhpc::sim {

/// One part of a rank's memory and the keys that change it.
struct MemoryTerm {
  std::string what;   ///< e.g. "error-feedback residuals of 8,000 clients (fp32, 176.0 KB each)"
  std::uint64_t bytes = 0;
  std::string keys;   ///< what a user changes to shrink it
};

/// The parts of one rank's memory that grow with the run's size.
struct RankMemory {
  std::vector<MemoryTerm> terms;
  std::uint64_t total() const;
  const MemoryTerm& dominant() const;  ///< the largest term
};

/// What this rank will allocate: the materialised examples of its clients,
/// the error-feedback residuals of those of its clients that are sampled at
/// least once in rounds [0, train_rounds) (state_bytes each on the device, 0
/// without client state), model-sized buffers for P parameters, and the
/// per-client tables every rank holds; with max_guests > 0 (run.balance =
/// round) the examples and state of that many of the largest clients, four
/// times (clients received and kept, clients sent and the send buffer's copy).
RankMemory estimate_rank_memory(const RunConfig& cfg, const data::FederatedDataset& data,
                                std::span<const int> own, std::int64_t test_begin, std::int64_t test_end,
                                std::size_t P, std::uint64_t state_bytes, int train_rounds,
                                std::size_t max_guests = 0);

/// Collective over comm: the largest rank's total and its terms, one
/// "<bytes> <what>" line each (for /execution), on every rank.
std::pair<std::uint64_t, std::string> largest_estimate(const RankMemory& mine, const comm::Communicator& comm);

/// Collective over comm: refuses (ConfigError naming run.memory_check, the
/// same message on every rank) a run whose ranks on one node together need
/// more than that node can still allocate (node_memory_free) or whose rank
/// needs more than its address-space limit. The message names the dominant
/// term of the tightest rank and the keys that change it.
void check_memory_fits(const RankMemory& mine, const comm::Communicator& comm);

}  // namespace fedhpc::sim
