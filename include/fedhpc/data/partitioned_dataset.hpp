#pragma once
/// Common base of the file-backed datasets (Fashion-MNIST, HDF5): all labels
/// and the client partition live on every rank; materialize() keeps only the
/// chosen clients' inputs, contiguous per client, loaded by the subclass.
#include <cstdint>
#include <span>
#include <vector>

#include "fedhpc/data/dataset.hpp"
#include "fedhpc/data/partition.hpp"
#include "fedhpc/data/resident_allocator.hpp"

namespace fedhpc::data {

/// A FederatedDataset whose examples are assigned to clients by a Partition
/// of a global training set; subclasses only read input rows.
class PartitionedDataset : public FederatedDataset {
 public:
  int num_clients() const override { return partition_.num_clients(); }
  Shape input_shape() const override { return shape_; }
  int num_classes() const override { return num_classes_; }
  std::int64_t num_samples(int client) const override;
  void label_histogram(int client, std::span<std::int64_t> out) const override;
  std::int64_t test_size() const override { return static_cast<std::int64_t>(test_labels_.size()); }
  void materialize(std::span<const int> clients, std::int64_t test_begin,
                   std::int64_t test_end) override;
  std::uint64_t materialize_bytes(std::span<const int> clients, std::int64_t test_begin,
                                  std::int64_t test_end) const override;
  ExampleView examples(int client) override;
  ExampleView test_examples() const override;

  /// The partition of the training set (client k holds partition().client(k)).
  const Partition& partition() const { return partition_; }
  /// Labels of the whole training set, by example id.
  std::span<const std::int32_t> train_labels() const { return train_labels_; }

 protected:
  PartitionedDataset() = default;
  /// Sets the metadata; subclass constructors call it once labels are known.
  void init(Shape shape, int num_classes, std::vector<std::int32_t> train_labels,
            std::vector<std::int32_t> test_labels, Partition partition);

  /// Writes training example i into x row dest[i] (rows of shape_.size()
  /// floats) for every i with dest[i] >= 0; dest.size() == training set size.
  virtual void load_train(std::span<const std::int64_t> dest, std::span<float> x) = 0;
  /// Writes test examples [begin, end) into x (end - begin rows).
  virtual void load_test(std::int64_t begin, std::int64_t end, std::span<float> x) = 0;

 private:
  Shape shape_;
  int num_classes_ = 0;
  std::vector<std::int32_t> train_labels_;  // (n_train)
  std::vector<std::int32_t> test_labels_;   // (n_test)
  Partition partition_;

  std::vector<int> resident_;               // materialised clients, ascending
  std::vector<std::int64_t> resident_row_;  // (resident_.size() + 1) first row of each
  ResidentVector<float> x_;                 // (rows, shape_.size()) materialised clients, by client
  ResidentVector<std::int32_t> y_;          // (rows)
  ResidentVector<float> test_x_;            // (test rows, shape_.size()) test rows [begin, end)
  ResidentVector<std::int32_t> test_y_;     // (test rows)
};

}  // namespace fedhpc::data
