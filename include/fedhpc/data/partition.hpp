#pragma once
/// Partitioners: which training examples each client holds (CSR layout).
#include <cstdint>
#include <span>
#include <vector>

#include "fedhpc/config/run_config.hpp"

namespace fedhpc::data {

/// Example indices per client: client k holds indices[offsets[k] .. offsets[k+1]).
struct Partition {
  std::vector<std::int64_t> offsets;  // (num_clients + 1)
  std::vector<std::int32_t> indices;  // (total examples assigned)
  int num_clients() const { return static_cast<int>(offsets.size()) - 1; }
  std::span<const std::int32_t> client(int k) const {
    return {indices.data() + offsets[k], static_cast<std::size_t>(offsets[k + 1] - offsets[k])};
  }
};

// Every partitioner is a pure function of its arguments and `seed`, so all
// ranks compute the same partition. Indices within each client are ascending.
// Invalid arguments throw ConfigError naming the data.* key to change.

/// Uniformly random equal-size split.
Partition partition_iid(std::int64_t num_examples, int num_clients, std::uint64_t seed);
/// Label skew: per class, client shares ~ Dirichlet(alpha); clients below
/// min_samples are topped up from the largest clients.
Partition partition_dirichlet(std::span<const std::int32_t> labels, int num_classes,
                              int num_clients, double alpha, int min_samples,
                              std::uint64_t seed);
/// Sort by label, cut into num_clients * classes_per_client shards, deal them out.
/// A client sees at most classes_per_client labels when every class size is a
/// multiple of the shard size (a shard that straddles two classes adds one).
Partition partition_shards(std::span<const std::int32_t> labels, int num_clients,
                           int classes_per_client, std::uint64_t seed);
/// Quantity skew: IID labels, client sizes ~ lognormal(0, sigma).
Partition partition_quantity(std::int64_t num_examples, int num_clients, double sigma,
                             int min_samples, std::uint64_t seed);

/// The partition selected by cfg.partition (with cfg's parameters) of `labels`.
Partition make_partition(const DataSection& cfg, std::span<const std::int32_t> labels,
                         int num_classes, std::uint64_t seed);

}  // namespace fedhpc::data
