// Fashion-MNIST dataset: a small fake directory written here, and the real files.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/data/fashion_mnist.hpp"
#include "fedhpc/data/idx_reader.hpp"

using namespace fedhpc;
namespace fs = std::filesystem;

namespace {

constexpr const char* kRealDir = "/usr/share/datasets/fashion-mnist";

void write_idx_gz(const fs::path& path, std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                  const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> bytes;
  const auto be32 = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<std::uint8_t>(v >> s));
  };
  be32(magic);
  for (const auto d : dims) be32(d);
  bytes.insert(bytes.end(), data.begin(), data.end());
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

/// Pixel j of image i of the fake set.
std::uint8_t pixel(int image, int j) {
  return static_cast<std::uint8_t>((image * 31 + j * 7) % 256);
}

float standardised(std::uint8_t v) {
  return (static_cast<float>(v) / 255.0f - data::kFashionMnistMean) / data::kFashionMnistStd;
}

class FakeFashionMnist : public ::testing::Test {
 protected:
  static constexpr int kTrain = 40, kTest = 10, kPixels = 28 * 28;

  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fedhpc_fmnist_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    write_set("train", kTrain, kTrain, 0);
    write_set("t10k", kTest, kTest, 1000);
    cfg_.source = DataSource::kFashionMnist;
    cfg_.path = dir_.string();
    cfg_.num_clients = 4;
    cfg_.partition = PartitionKind::kIid;
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Images first_image.. with labels (i % 10).
  void write_set(const std::string& prefix, int images, int labels, int first_image) {
    std::vector<std::uint8_t> px(static_cast<std::size_t>(images) * kPixels), y;
    for (int i = 0; i < images; ++i)
      for (int j = 0; j < kPixels; ++j)
        px[static_cast<std::size_t>(i) * kPixels + static_cast<std::size_t>(j)] =
            pixel(first_image + i, j);
    for (int i = 0; i < labels; ++i) y.push_back(static_cast<std::uint8_t>((first_image + i) % 10));
    write_idx_gz(dir_ / (prefix + "-images-idx3-ubyte.gz"), data::kIdxImagesMagic,
                 {static_cast<std::uint32_t>(images), 28, 28}, px);
    write_idx_gz(dir_ / (prefix + "-labels-idx1-ubyte.gz"), data::kIdxLabelsMagic,
                 {static_cast<std::uint32_t>(labels)}, y);
  }

  fs::path dir_;
  DataSection cfg_;
};

}  // namespace

TEST_F(FakeFashionMnist, MaterialisedExamplesAreTheStandardisedPixels) {
  data::FashionMnistDataset ds(cfg_, 5);
  EXPECT_EQ(ds.num_clients(), 4);
  EXPECT_EQ(ds.num_classes(), 10);
  EXPECT_EQ(ds.input_shape().size(), kPixels);
  EXPECT_EQ(ds.test_size(), kTest);

  const std::vector<int> mine = {1, 3};
  ds.materialize(mine, 2, 7);
  for (const int c : mine) {
    const auto ids = ds.partition().client(c);
    const auto v = ds.examples(c);
    ASSERT_EQ(v.n, static_cast<std::int64_t>(ids.size()));
    for (std::size_t r = 0; r < ids.size(); ++r) {
      EXPECT_EQ(v.y[r], ids[r] % 10);
      for (int j = 0; j < kPixels; j += 97)
        EXPECT_EQ(v.x[r * kPixels + static_cast<std::size_t>(j)], standardised(pixel(ids[r], j)));
    }
  }
  EXPECT_THROW(ds.examples(0), InternalError);

  const auto t = ds.test_examples();
  ASSERT_EQ(t.n, 5);
  for (int r = 0; r < 5; ++r) {
    EXPECT_EQ(t.y[r], (1000 + 2 + r) % 10);
    EXPECT_EQ(t.x[static_cast<std::size_t>(r) * kPixels + 5], standardised(pixel(1000 + 2 + r, 5)));
  }
}

TEST_F(FakeFashionMnist, FactoryOpensIt) {
  const auto ds = data::open_federated_dataset(cfg_, 5);
  std::int64_t total = 0;
  for (int c = 0; c < ds->num_clients(); ++c) total += ds->num_samples(c);
  EXPECT_EQ(total, kTrain);
}

TEST_F(FakeFashionMnist, CountMismatchNamesTheImageFile) {
  write_set("train", kTrain - 1, kTrain, 0);
  const std::string images = (dir_ / "train-images-idx3-ubyte.gz").string();
  try {
    data::FashionMnistDataset ds(cfg_, 5);
    ADD_FAILURE() << "mismatch accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "data.path");
    EXPECT_NE(std::string(e.what()).find(images), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("39 images"), std::string::npos) << e.what();
  }
}

TEST_F(FakeFashionMnist, MissingDirectoryAndFile) {
  cfg_.path = (dir_ / "absent").string();
  EXPECT_THROW(data::FashionMnistDataset(cfg_, 5), ConfigError);
  cfg_.path = dir_.string();
  fs::remove(dir_ / "t10k-labels-idx1-ubyte.gz");
  try {
    data::FashionMnistDataset ds(cfg_, 5);
    ADD_FAILURE() << "missing file accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("t10k-labels-idx1-ubyte.gz: file not found"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(FakeFashionMnist, TruncatedImagesFailAtMaterialize) {
  // A header that promises more pixels than the file holds passes open()
  // (headers only) and fails when the pixels are streamed.
  std::vector<std::uint8_t> px(static_cast<std::size_t>(kTrain - 1) * kPixels, 1);
  write_idx_gz(dir_ / "train-images-idx3-ubyte.gz", data::kIdxImagesMagic, {kTrain, 28, 28}, px);
  data::FashionMnistDataset ds(cfg_, 5);
  const std::vector<int> all = {0, 1, 2, 3};
  try {
    ds.materialize(all, 0, 0);
    ADD_FAILURE() << "truncated file accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train-images-idx3-ubyte.gz: truncated"),
              std::string::npos)
        << e.what();
  }
}

TEST(RealFashionMnist, OpensPartitionsAndMaterialises) {
  if (!fs::exists(fs::path(kRealDir) / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not installed at " << kRealDir;
  DataSection cfg;  // defaults: fashion_mnist, 1000 clients, Dirichlet(0.5)
  cfg.path = kRealDir;
  const auto ds = data::open_federated_dataset(cfg, 1);
  ASSERT_EQ(ds->num_clients(), 1000);
  EXPECT_EQ(ds->num_classes(), 10);
  EXPECT_EQ(ds->input_shape().channels, 1);
  EXPECT_EQ(ds->input_shape().height, 28);
  EXPECT_EQ(ds->input_shape().width, 28);
  EXPECT_EQ(ds->test_size(), 10000);

  std::int64_t samples = 0;
  std::vector<std::int64_t> per_class(10, 0), h(10);
  for (int c = 0; c < ds->num_clients(); ++c) {
    const std::int64_t n = ds->num_samples(c);
    EXPECT_GE(n, cfg.min_samples);
    samples += n;
    ds->label_histogram(c, h);
    EXPECT_EQ(std::accumulate(h.begin(), h.end(), std::int64_t{0}), n);
    for (int k = 0; k < 10; ++k)
      per_class[static_cast<std::size_t>(k)] += h[static_cast<std::size_t>(k)];
  }
  EXPECT_EQ(samples, 60000);
  for (const auto v : per_class) EXPECT_EQ(v, 6000);

  std::vector<int> all(1000);
  std::iota(all.begin(), all.end(), 0);
  ds->materialize(all, 0, 10000);
  std::int64_t seen = 0;
  for (const int c : all) seen += ds->examples(c).n;
  EXPECT_EQ(seen, 60000);
  const auto t = ds->test_examples();
  ASSERT_EQ(t.n, 10000);
  double sum = 0, sq = 0;
  const std::size_t values = static_cast<std::size_t>(t.n) * 784;
  for (std::size_t i = 0; i < values; ++i) {
    sum += t.x[i];
    sq += static_cast<double>(t.x[i]) * t.x[i];
  }
  const double mean = sum / static_cast<double>(values);
  EXPECT_NEAR(mean, 0.0, 0.02);  // standardised with the training statistics
  EXPECT_NEAR(std::sqrt(sq / static_cast<double>(values) - mean * mean), 1.0, 0.02);
}
