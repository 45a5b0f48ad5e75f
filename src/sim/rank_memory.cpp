#include "fedhpc/sim/rank_memory.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/memory_limits.hpp"
#include "fedhpc/sim/sampler.hpp"

namespace fedhpc::sim {
namespace {

/// Model-sized float buffers a rank holds besides the network's activations:
/// the global model, the mean update (double: 2), the trainer's parameters,
/// gradients, decoded copy and optimizer state, the aggregator's exact sum
/// (128-bit: 4), the server optimizer's state (up to 2) and the server's
/// error feedback. Measured: docs/cluster.md, "Memory".
constexpr std::uint64_t kModelCopies = 14;

/// Heap bytes glibc's malloc takes for one block of `bytes` (a chunk header,
/// 16-byte granularity; large blocks are whole pages of their own mapping).
std::uint64_t heap_block(std::uint64_t bytes) {
  if (bytes == 0) return 0;
  if (bytes >= 128 * 1024) return (bytes + 16 + 4095) / 4096 * 4096;
  return std::max<std::uint64_t>(32, (bytes + 8 + 15) / 16 * 16);
}

/// Distinct clients of `own` (ascending) sampled in rounds [0, rounds).
std::uint64_t sampled_own_clients(const RunConfig& cfg, int num_clients, std::span<const int> own, int rounds) {
  std::vector<char> is_own(static_cast<std::size_t>(num_clients), 0), seen(is_own.size(), 0);
  for (const int c : own) is_own[static_cast<std::size_t>(c)] = 1;
  std::uint64_t count = 0;
  for (int r = 0; r < rounds && count < own.size(); ++r)
    for (const int c : sample_clients(cfg.run.seed, r, num_clients, cfg.clients_per_round())) {
      const auto i = static_cast<std::size_t>(c);
      if (is_own[i] && !seen[i]) {
        seen[i] = 1;
        ++count;
      }
    }
  return count;
}

/// n with thousands separators: "1,000,000".
std::string count(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

std::string residual_form(const compress::ResidualSpec& r) {
  switch (r.form) {
    case compress::ResidualForm::kFp32: return "fp32";
    case compress::ResidualForm::kFp16: return "fp16";
    case compress::ResidualForm::kInt8: return "int8";
    case compress::ResidualForm::kSparse: return "sparse";
    case compress::ResidualForm::kSparse16: return "sparse16";
  }
  return "?";
}

/// s as rank root has it, on every rank of comm.
void broadcast_string(const comm::Communicator& comm, std::string& s, int root) {
  std::uint64_t length = s.size();
  comm::broadcast(comm, std::span<std::uint64_t>(&length, 1), root);
  s.resize(length);
  comm::broadcast(comm, std::span<char>(s.data(), length), root);
}

}  // namespace

std::uint64_t RankMemory::total() const {
  std::uint64_t t = 0;
  for (const auto& m : terms) t += m.bytes;
  return t;
}

const MemoryTerm& RankMemory::dominant() const {
  expects(!terms.empty(), "RankMemory::dominant: no terms");
  return *std::max_element(terms.begin(), terms.end(),
                           [](const MemoryTerm& a, const MemoryTerm& b) { return a.bytes < b.bytes; });
}

RankMemory estimate_rank_memory(const RunConfig& cfg, const data::FederatedDataset& data,
                                std::span<const int> own, std::int64_t test_begin, std::int64_t test_end,
                                std::size_t P, std::uint64_t state_bytes, int train_rounds,
                                std::size_t max_guests) {
  RankMemory m;
  m.terms.push_back({"the training examples of this rank's " + count(own.size()) + " clients and its test rows",
                     data.materialize_bytes(own, test_begin, test_end),
                     "run on more ranks or nodes (each holds its clients' examples only)"});
  if (state_bytes > 0) {
    const std::uint64_t n = sampled_own_clients(cfg, data.num_clients(), own, train_rounds);
    m.terms.push_back({"the error-feedback residuals of the " + count(n) + " of this rank's clients sampled in " +
                           std::to_string(train_rounds) + (train_rounds == 1 ? " round (" : " rounds (") + residual_form(cfg.uplink.residual) +
                           ", " + format_bytes(static_cast<double>(state_bytes)) + " each)",
                       n * (heap_block(state_bytes) + 16),
                       "uplink.residual (fp16, int8, sparse or sparse16 hold less than fp32; the sparse "
                       "forms keep uplink.residual_ratio), server.rounds, server.clients_per_round, or run on more ranks or nodes"});
  }
  if (max_guests > 0) {
    std::int64_t largest = 0;
    for (int c = 0; c < data.num_clients(); ++c) largest = std::max(largest, data.num_samples(c));
    const std::uint64_t row = static_cast<std::uint64_t>(data.input_shape().size()) * sizeof(float) + sizeof(std::int32_t);
    const std::uint64_t guest = static_cast<std::uint64_t>(largest) * row + state_bytes + 32;
    m.terms.push_back({"up to " + count(max_guests) + " clients of other ranks trained here in a round, and as many "
                       "of its own sent away (run.balance)",
                       4 * max_guests * guest, "run.balance (shard moves no client), server.clients_per_round"});
  }
  m.terms.push_back({"model-sized buffers (" + std::to_string(kModelCopies) + " copies of " + count(P) +
                         " parameters)",
                     kModelCopies * P * sizeof(float), "model.arch, model.hidden"});
  // Owners, budgets, residual slots and the partition's offsets on every
  // rank, and at most every client's /client_info row (its label histogram).
  const auto clients = static_cast<std::uint64_t>(data.num_clients());
  m.terms.push_back({"per-client tables of " + count(clients) + " clients",
                     clients * (48 + 28 + 8 * static_cast<std::uint64_t>(data.num_classes())),
                     "data.num_clients"});
  return m;
}

std::pair<std::uint64_t, std::string> largest_estimate(const RankMemory& mine, const comm::Communicator& comm) {
  const std::uint64_t largest = comm::allreduce_max(comm, mine.total());
  const int root = -comm::allreduce_max(comm, mine.total() == largest ? -comm.rank() : -comm.size());
  std::string text;
  for (const auto& t : mine.terms) text += std::to_string(t.bytes) + " " + t.what + "\n";
  broadcast_string(comm, text, root);
  return {largest, text};
}

void check_memory_fits(const RankMemory& mine, const comm::Communicator& comm) {
  // The ranks sharing this node's memory.
  MPI_Comm node_raw = MPI_COMM_NULL;
  comm::mpi_check(MPI_Comm_split_type(comm.get(), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL, &node_raw),
                  "MPI_Comm_split_type");
  const comm::Communicator node(node_raw);
  MPI_Comm_free(&node_raw);
  std::uint64_t need[2] = {mine.total(), 0};
  comm::allreduce(node, std::span<std::uint64_t>(need, 1), MPI_SUM);
  need[1] = mine.total();

  std::string message;
  if (const auto free = node_memory_free(); free && need[0] > free->bytes) {
    message = "the " + std::to_string(node.size()) + " rank(s) on this node need about " +
              format_bytes(static_cast<double>(need[0])) + " more, but " + free->source + " leaves " +
              format_bytes(static_cast<double>(free->bytes));
  } else if (const auto as = address_space_free(); as && need[1] > as->bytes) {
    message = "this rank needs about " + format_bytes(static_cast<double>(need[1])) + " more, but " + as->source +
              " leaves " + format_bytes(static_cast<double>(as->bytes));
  }
  if (!message.empty()) {
    const MemoryTerm& d = mine.dominant();
    message += ". The largest part (rank " + std::to_string(comm.rank()) + "): " + d.what + ", " +
               format_bytes(static_cast<double>(d.bytes)) + "; change " + d.keys +
               " (or skip this check with --run.memory_check false)";
  }
  // The first rank that does not fit speaks for all.
  const int first = -comm::allreduce_max(comm, message.empty() ? -comm.size() : -comm.rank());
  if (first == comm.size()) return;
  broadcast_string(comm, message, first);
  throw ConfigError("run.memory_check", "the run does not fit in memory: " + message);
}

}  // namespace fedhpc::sim
