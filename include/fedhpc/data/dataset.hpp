#pragma once
/// Federated dataset: global per-client metadata on every rank, examples only
/// for the clients (and the test slice) this rank needs.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fedhpc/config/run_config.hpp"

namespace fedhpc::data {

/// Input tensor shape of one example (channels, height, width); MLP inputs use (1, 1, d).
struct Shape {
  int channels = 1, height = 1, width = 1;
  int size() const { return channels * height * width; }
};

/// A block of n examples: x row-major (n, features), y (n) class ids.
struct ExampleView {
  const float* x = nullptr;
  const std::int32_t* y = nullptr;
  std::int64_t n = 0;
};

/// Examples held in memory.
struct Dataset {
  Shape shape;
  int num_classes = 0;
  std::vector<float> x;          // (n, shape.size())
  std::vector<std::int32_t> y;   // (n)
  std::int64_t size() const { return static_cast<std::int64_t>(y.size()); }
};

/// Dataset split over clients. Metadata (sizes, label histograms) is computed
/// identically on every rank; examples are materialised only where needed.
class FederatedDataset {
 public:
  virtual ~FederatedDataset() = default;
  virtual int num_clients() const = 0;
  virtual Shape input_shape() const = 0;
  virtual int num_classes() const = 0;
  /// Training examples of `client` (any client, on every rank).
  virtual std::int64_t num_samples(int client) const = 0;
  /// Label counts of `client`; out.size() == num_classes().
  virtual void label_histogram(int client, std::span<std::int64_t> out) const = 0;
  /// Size of the global test set.
  virtual std::int64_t test_size() const = 0;
  /// Keep resident the examples of `clients` (sorted ascending) and test rows
  /// [test_begin, test_end); release everything else. Called once per run.
  virtual void materialize(std::span<const int> clients, std::int64_t test_begin,
                           std::int64_t test_end) = 0;
  /// Bytes materialize(clients, test_begin, test_end) will allocate, at its
  /// peak (the memory estimate before anything is allocated).
  virtual std::uint64_t materialize_bytes(std::span<const int> clients, std::int64_t test_begin,
                                          std::int64_t test_end) const = 0;
  /// Training examples of a materialised client. The view stays valid until
  /// the next call of examples() (synthetic data is generated into one buffer).
  virtual ExampleView examples(int client) = 0;
  /// The materialised test rows.
  virtual ExampleView test_examples() const = 0;
};

/// Opens the dataset named by `cfg` and partitions it (keyed by `seed`).
/// Throws ConfigError naming `data.path` for a missing or malformed file.
std::unique_ptr<FederatedDataset> open_federated_dataset(const DataSection& cfg,
                                                         std::uint64_t seed);

}  // namespace fedhpc::data
