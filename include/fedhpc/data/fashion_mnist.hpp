#pragma once
/// Fashion-MNIST read from the four IDX files of its distribution.
#include <cstdint>
#include <span>
#include <string>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/data/partitioned_dataset.hpp"

namespace fedhpc::data {

/// Mean and standard deviation of Fashion-MNIST training pixels scaled to [0, 1].
inline constexpr float kFashionMnistMean = 0.2860f;
inline constexpr float kFashionMnistStd = 0.3530f;

/// Fashion-MNIST from directory cfg.path (train-images-idx3-ubyte.gz,
/// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
/// t10k-labels-idx1-ubyte.gz; uncompressed files without .gz also work).
/// Shape (1, 28, 28), 10 classes, pixels standardised as (x/255 - mean) / std.
/// Labels are read on construction; images at materialize().
class FashionMnistDataset final : public PartitionedDataset {
 public:
  /// Reads the labels, checks the image headers and partitions by cfg.partition.
  FashionMnistDataset(const DataSection& cfg, std::uint64_t seed);

 private:
  void load_train(std::span<const std::int64_t> dest, std::span<float> x) override;
  void load_test(std::int64_t begin, std::int64_t end, std::span<float> x) override;

  std::string train_images_path_, train_labels_path_;
  std::string test_images_path_, test_labels_path_;
};

}  // namespace fedhpc::data
