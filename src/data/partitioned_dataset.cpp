#include "fedhpc/data/partitioned_dataset.hpp"

#include <algorithm>
#include <functional>
#include <string>

#include "fedhpc/core/error.hpp"

namespace fedhpc::data {

void PartitionedDataset::init(Shape shape, int num_classes, std::vector<std::int32_t> train_labels,
                              std::vector<std::int32_t> test_labels, Partition partition) {
  expects(partition.indices.size() <= train_labels.size(),
          "PartitionedDataset: partition larger than the training set");
  shape_ = shape;
  num_classes_ = num_classes;
  train_labels_ = std::move(train_labels);
  test_labels_ = std::move(test_labels);
  partition_ = std::move(partition);
}

std::int64_t PartitionedDataset::num_samples(int client) const {
  expects(client >= 0 && client < num_clients(), "num_samples: client out of range");
  return partition_.offsets[static_cast<std::size_t>(client) + 1] -
         partition_.offsets[static_cast<std::size_t>(client)];
}

void PartitionedDataset::label_histogram(int client, std::span<std::int64_t> out) const {
  expects(client >= 0 && client < num_clients(), "label_histogram: client out of range");
  expects(out.size() == static_cast<std::size_t>(num_classes_),
          "label_histogram: out.size() != num_classes()");
  std::fill(out.begin(), out.end(), 0);
  for (const std::int32_t i : partition_.client(client))
    ++out[static_cast<std::size_t>(train_labels_[static_cast<std::size_t>(i)])];
}

std::uint64_t PartitionedDataset::materialize_bytes(std::span<const int> clients, std::int64_t test_begin,
                                                   std::int64_t test_end) const {
  const std::uint64_t row = static_cast<std::uint64_t>(shape_.size()) * sizeof(float) + sizeof(std::int32_t);
  std::uint64_t rows = static_cast<std::uint64_t>(test_end - test_begin);
  for (const int c : clients) rows += static_cast<std::uint64_t>(num_samples(c));
  // The rows kept, plus the destination table while loading.
  return rows * row + train_labels_.size() * sizeof(std::int64_t);
}

void PartitionedDataset::materialize(std::span<const int> clients, std::int64_t test_begin,
                                     std::int64_t test_end) {
  expects(
      std::adjacent_find(clients.begin(), clients.end(), std::greater_equal<>()) == clients.end(),
      "materialize: clients not strictly ascending");
  expects(clients.empty() || (clients.front() >= 0 && clients.back() < num_clients()),
          "materialize: client out of range");
  expects(0 <= test_begin && test_begin <= test_end && test_end <= test_size(),
          "materialize: test rows out of range");
  const auto d = static_cast<std::size_t>(shape_.size());

  // Drop what a previous call kept before allocating the new set.
  ResidentVector<float>().swap(x_);
  ResidentVector<std::int32_t>().swap(y_);
  ResidentVector<float>().swap(test_x_);
  ResidentVector<std::int32_t>().swap(test_y_);
  resident_.assign(clients.begin(), clients.end());
  resident_row_.assign(1, 0);
  for (const int c : clients) resident_row_.push_back(resident_row_.back() + num_samples(c));

  const auto rows = static_cast<std::size_t>(resident_row_.back());
  std::vector<std::int64_t> dest(train_labels_.size(), -1);
  y_.resize(rows);
  std::int64_t row = 0;
  for (const int c : clients) {
    for (const std::int32_t i : partition_.client(c)) {
      dest[static_cast<std::size_t>(i)] = row;
      y_[static_cast<std::size_t>(row++)] = train_labels_[static_cast<std::size_t>(i)];
    }
  }
  x_.resize(rows * d);
  if (rows > 0) load_train(dest, x_);

  const auto test_rows = static_cast<std::size_t>(test_end - test_begin);
  test_y_.assign(test_labels_.begin() + test_begin, test_labels_.begin() + test_end);
  test_x_.resize(test_rows * d);
  if (test_rows > 0) load_test(test_begin, test_end, test_x_);
}

ExampleView PartitionedDataset::examples(int client) {
  const auto it = std::lower_bound(resident_.begin(), resident_.end(), client);
  if (it == resident_.end() || *it != client)
    throw InternalError("examples(): client " + std::to_string(client) + " is not materialised");
  const auto slot = static_cast<std::size_t>(it - resident_.begin());
  const auto row = static_cast<std::size_t>(resident_row_[slot]);
  return {x_.data() + row * static_cast<std::size_t>(shape_.size()), y_.data() + row,
          resident_row_[slot + 1] - resident_row_[slot]};
}

ExampleView PartitionedDataset::test_examples() const {
  return {test_x_.data(), test_y_.data(), static_cast<std::int64_t>(test_y_.size())};
}

}  // namespace fedhpc::data
