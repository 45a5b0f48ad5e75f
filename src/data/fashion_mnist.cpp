#include "fedhpc/data/fashion_mnist.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/data/idx_reader.hpp"

namespace fedhpc::data {
namespace {

constexpr int kClasses = 10;
constexpr int kSide = 28;
/// Images decompressed per block while streaming (~1.6 MB of pixels).
constexpr std::int64_t kBlockImages = 2048;

/// `dir/name.gz`, or `dir/name` when only the uncompressed file exists.
std::string idx_file(const std::filesystem::path& dir, const std::string& name) {
  const auto gz = dir / (name + ".gz");
  const auto plain = dir / name;
  std::error_code ec;
  if (!std::filesystem::exists(gz, ec) && std::filesystem::exists(plain, ec)) return plain.string();
  return gz.string();
}

/// Checks that an image file's header matches its label file.
void check_images(const IdxReader& r, std::int64_t num_labels, const std::string& labels_path) {
  const std::string& path = r.path();
  if (r.items() != num_labels)
    throw ConfigError("data.path", path + ": holds " + std::to_string(r.items()) + " images but " +
                                       labels_path + " holds " + std::to_string(num_labels) +
                                       " labels");
  if (r.dims()[1] != kSide || r.dims()[2] != kSide)
    throw ConfigError("data.path", path + ": images are " + std::to_string(r.dims()[1]) + "x" +
                                       std::to_string(r.dims()[2]) + ", expected 28x28");
}

/// Standardised value of every pixel byte: (v / 255 - mean) / std.
std::array<float, 256> pixel_table() {
  std::array<float, 256> t{};
  for (int v = 0; v < 256; ++v)
    t[static_cast<std::size_t>(v)] =
        (static_cast<float>(v) / 255.0f - kFashionMnistMean) / kFashionMnistStd;
  return t;
}

/// Streams every image of `r` (so the whole file is validated) and writes the
/// standardised pixels of image i to sink(i), a row of item_bytes() floats,
/// unless sink(i) returns nullptr.
template <class Sink>
void stream_images(IdxReader& r, Sink&& sink) {
  static const std::array<float, 256> table = pixel_table();
  const std::int64_t d = r.item_bytes();
  std::vector<std::uint8_t> block(static_cast<std::size_t>(std::min(kBlockImages, r.items()) * d));
  for (std::int64_t first = 0; first < r.items();) {
    const std::int64_t count = std::min(kBlockImages, r.items() - first);
    r.read(std::span(block.data(), static_cast<std::size_t>(count * d)));
    for (std::int64_t i = 0; i < count; ++i) {
      float* row = sink(first + i);
      if (row == nullptr) continue;
      const std::uint8_t* px = block.data() + i * d;
      for (std::int64_t j = 0; j < d; ++j) row[j] = table[px[j]];
    }
    first += count;
  }
  r.expect_end();
}

}  // namespace

FashionMnistDataset::FashionMnistDataset(const DataSection& cfg, std::uint64_t seed) {
  const std::filesystem::path dir(cfg.path);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw ConfigError("data.path", cfg.path + ": " +
                                       (std::filesystem::exists(dir, ec) ? "not a directory"
                                                                         : "directory not found") +
                                       " (expected the Fashion-MNIST IDX files)");
  train_labels_path_ = idx_file(dir, "train-labels-idx1-ubyte");
  test_labels_path_ = idx_file(dir, "t10k-labels-idx1-ubyte");
  train_images_path_ = idx_file(dir, "train-images-idx3-ubyte");
  test_images_path_ = idx_file(dir, "t10k-images-idx3-ubyte");

  auto train_labels = read_idx_labels(train_labels_path_, kClasses);
  auto test_labels = read_idx_labels(test_labels_path_, kClasses);
  // Headers only: the pixels are read (and fully validated) by materialize().
  check_images(IdxReader(train_images_path_, kIdxImagesMagic),
               static_cast<std::int64_t>(train_labels.size()), train_labels_path_);
  check_images(IdxReader(test_images_path_, kIdxImagesMagic),
               static_cast<std::int64_t>(test_labels.size()), test_labels_path_);

  Partition partition = make_partition(cfg, train_labels, kClasses, seed);
  init(Shape{1, kSide, kSide}, kClasses, std::move(train_labels), std::move(test_labels),
       std::move(partition));
}

void FashionMnistDataset::load_train(std::span<const std::int64_t> dest, std::span<float> x) {
  IdxReader r(train_images_path_, kIdxImagesMagic);
  check_images(r, static_cast<std::int64_t>(dest.size()), train_labels_path_);
  const std::size_t d = static_cast<std::size_t>(input_shape().size());
  stream_images(r, [&](std::int64_t i) -> float* {
    const std::int64_t row = dest[static_cast<std::size_t>(i)];
    return row < 0 ? nullptr : x.data() + static_cast<std::size_t>(row) * d;
  });
}

void FashionMnistDataset::load_test(std::int64_t begin, std::int64_t end, std::span<float> x) {
  IdxReader r(test_images_path_, kIdxImagesMagic);
  check_images(r, test_size(), test_labels_path_);
  const std::size_t d = static_cast<std::size_t>(input_shape().size());
  stream_images(r, [&](std::int64_t i) -> float* {
    return i < begin || i >= end ? nullptr : x.data() + static_cast<std::size_t>(i - begin) * d;
  });
}

}  // namespace fedhpc::data
