#pragma once
/// A federated dataset stored in one HDF5 file, read with default (serial)
/// access on each rank. Two layouts, detected from the file:
///   flat:    /train/x (n, d...), /train/y (n), /test/x, /test/y; split over
///            clients by cfg.partition;
///   natural: /clients/<name>/{x, y}, one group per client (client id = rank
///            of the name in byte order), and /test/x, /test/y.
/// x is a float dataset (read as float32) or uint8 (scaled to [0, 1]); x of
/// rank 2, 3, 4 gives input shape (1, 1, d), (1, h, w), (c, h, w). y is any
/// integer type; num_classes is max label + 1 unless the root attribute
/// `num_classes` sets it. Every problem with the file throws
/// ConfigError("data.path", "<file>: ...") naming the HDF5 object.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/data/partitioned_dataset.hpp"

namespace fedhpc::data {

/// Largest number of classes an HDF5 dataset may declare or imply.
inline constexpr int kMaxHdf5Classes = 1 << 16;

/// Dataset read from the HDF5 file cfg.path (see the file comment for layouts).
class Hdf5Dataset final : public PartitionedDataset {
 public:
  /// How the file assigns examples to clients.
  enum class Layout { kFlat, kNatural };

  /// Reads labels and shapes; in the natural layout cfg.num_clients must equal
  /// the number of client groups (ConfigError naming data.num_clients).
  Hdf5Dataset(const DataSection& cfg, std::uint64_t seed);

  /// The layout found in the file.
  Layout layout() const { return layout_; }
  /// Natural layout: the client groups' names, by client id (empty when flat).
  std::span<const std::string> client_names() const { return client_names_; }

 private:
  void load_train(std::span<const std::int64_t> dest, std::span<float> x) override;
  void load_test(std::int64_t begin, std::int64_t end, std::span<float> x) override;

  std::string path_;
  Layout layout_ = Layout::kFlat;
  std::vector<std::string> client_names_;
};

}  // namespace fedhpc::data
