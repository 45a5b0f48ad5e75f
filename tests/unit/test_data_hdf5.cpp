// HDF5 dataset: flat and natural layouts written here with the HDF5 C API,
// and every malformed file is a ConfigError naming the file and the object.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/data/hdf5_dataset.hpp"
#include "fedhpc/io/h5_handle.hpp"

using namespace fedhpc;
using io::H5Handle;
namespace fs = std::filesystem;

namespace {

template <class T>
hid_t native_type();
template <>
hid_t native_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t native_type<std::uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
hid_t native_type<std::int16_t>() {
  return H5T_NATIVE_INT16;
}
template <>
hid_t native_type<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t native_type<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}

/// Writes dataset `name` (parent groups created on demand) of the given dims.
template <class T>
void put(hid_t file, const std::string& name, const std::vector<hsize_t>& dims,
         const std::vector<T>& values) {
  H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  io::h5check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                 "H5Screate");
  H5Handle d(
      H5Dcreate2(file, name.c_str(), native_type<T>(), space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
      "H5Dcreate " + name);
  if (!values.empty())
    io::h5check(H5Dwrite(d, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                "H5Dwrite " + name);
}

void put_root_int(hid_t file, const char* name, std::int64_t v) {
  H5Handle space(H5Screate(H5S_SCALAR), "H5Screate");
  H5Handle a(H5Acreate2(file, name, H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT),
             "H5Acreate");
  io::h5check(H5Awrite(a, H5T_NATIVE_INT64, &v), "H5Awrite");
}

std::vector<float> ramp(std::size_t n, float scale) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>(i);
  return v;
}

class Hdf5DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io::silence_hdf5_errors();
    dir_ = fs::temp_directory_path() /
           ("fedhpc_h5_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "data.h5").string();
    cfg_.source = DataSource::kHdf5;
    cfg_.path = path_;
    cfg_.num_clients = 3;
    cfg_.partition = PartitionKind::kIid;
    cfg_.min_samples = 1;
  }
  void TearDown() override { fs::remove_all(dir_); }

  H5Handle create() const {
    return H5Handle(H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate");
  }

  /// Flat file: train (n, 5) float x = ramp, y = i % 4; test (4, 5).
  void write_flat(hid_t f, std::size_t n = 12) const {
    std::vector<std::int64_t> y(n), ty = {3, 2, 1, 0};
    for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<std::int64_t>(i % 4);
    put<float>(f, "/train/x", {n, 5}, ramp(n * 5, 0.5f));
    put<std::int64_t>(f, "/train/y", {n}, y);
    put<float>(f, "/test/x", {4, 5}, ramp(20, -1.0f));
    put<std::int64_t>(f, "/test/y", {4}, ty);
  }

  /// Runs f, expects ConfigError(`key`) whose message names the file and `fragment`.
  template <class F>
  void expect_error(F&& f, const std::string& fragment, const std::string& key = "data.path") {
    try {
      f();
      ADD_FAILURE() << "no ConfigError (expected: " << fragment << ")";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key(), key) << e.what();
      const std::string what = e.what();
      EXPECT_NE(what.find(path_), std::string::npos) << what;
      EXPECT_NE(what.find(fragment), std::string::npos) << what;
    }
  }

  fs::path dir_;
  std::string path_;
  DataSection cfg_;
};

}  // namespace

TEST_F(Hdf5DatasetTest, FlatFloatRoundTrip) {
  write_flat(create());
  data::Hdf5Dataset ds(cfg_, 9);
  EXPECT_EQ(ds.layout(), data::Hdf5Dataset::Layout::kFlat);
  EXPECT_EQ(ds.num_clients(), 3);
  EXPECT_EQ(ds.num_classes(), 4);
  EXPECT_EQ(ds.input_shape().channels, 1);
  EXPECT_EQ(ds.input_shape().height, 1);
  EXPECT_EQ(ds.input_shape().width, 5);
  EXPECT_EQ(ds.test_size(), 4);

  const std::vector<int> mine = {0, 2};
  ds.materialize(mine, 1, 3);
  for (const int c : mine) {
    const auto ids = ds.partition().client(c);
    const auto v = ds.examples(c);
    ASSERT_EQ(v.n, 4);
    std::vector<std::int64_t> h(4);
    ds.label_histogram(c, h);
    EXPECT_EQ(std::accumulate(h.begin(), h.end(), std::int64_t{0}), 4);
    for (std::size_t r = 0; r < ids.size(); ++r) {
      EXPECT_EQ(v.y[r], ids[r] % 4);
      for (std::size_t j = 0; j < 5; ++j)
        EXPECT_EQ(v.x[r * 5 + j],
                  0.5f * static_cast<float>(static_cast<std::size_t>(ids[r]) * 5 + j));
    }
  }
  EXPECT_THROW(ds.examples(1), InternalError);
  const auto t = ds.test_examples();
  ASSERT_EQ(t.n, 2);
  EXPECT_EQ(t.y[0], 2);
  EXPECT_EQ(t.y[1], 1);
  EXPECT_EQ(t.x[0], -5.0f);
  EXPECT_EQ(t.x[9], -14.0f);
}

TEST_F(Hdf5DatasetTest, FlatManyBlocksOnlyWantedRows) {
  // 20000 rows of 200 floats (16 MB) span several read blocks.
  const std::size_t n = 20000, d = 200;
  {
    H5Handle f = create();
    std::vector<std::int32_t> y(n, 0);
    put<float>(f, "/train/x", {n, d}, ramp(n * d, 1.0f));
    put<std::int32_t>(f, "/train/y", {n}, y);
    put<float>(f, "/test/x", {1, d}, ramp(d, 1.0f));
    put<std::int32_t>(f, "/test/y", {1}, {0});
  }
  cfg_.num_clients = 100;
  data::Hdf5Dataset ds(cfg_, 1);
  const std::vector<int> mine = {7, 99};
  ds.materialize(mine, 0, 1);
  for (const int c : mine) {
    const auto ids = ds.partition().client(c);
    const auto v = ds.examples(c);
    ASSERT_EQ(v.n, 200);
    for (std::size_t r = 0; r < ids.size(); ++r)
      EXPECT_EQ(v.x[r * d + 3], static_cast<float>(static_cast<std::size_t>(ids[r]) * d + 3));
  }
}

TEST_F(Hdf5DatasetTest, FlatUint8ImagesAreScaledAndShaped) {
  {
    H5Handle f = create();
    std::vector<std::uint8_t> x(6 * 2 * 3 * 3), tx(2 * 2 * 3 * 3, 255);
    std::iota(x.begin(), x.end(), std::uint8_t{0});
    put<std::uint8_t>(f, "/train/x", {6, 2, 3, 3}, x);
    put<std::int32_t>(f, "/train/y", {6}, {0, 1, 0, 1, 0, 1});
    put<std::uint8_t>(f, "/test/x", {2, 2, 3, 3}, tx);
    put<std::int32_t>(f, "/test/y", {2}, {1, 0});
  }
  data::Hdf5Dataset ds(cfg_, 2);
  EXPECT_EQ(ds.input_shape().channels, 2);
  EXPECT_EQ(ds.input_shape().height, 3);
  EXPECT_EQ(ds.input_shape().width, 3);
  EXPECT_EQ(ds.num_classes(), 2);
  const std::vector<int> all = {0, 1, 2};
  ds.materialize(all, 0, 2);
  for (const int c : all) {
    const auto ids = ds.partition().client(c);
    const auto v = ds.examples(c);
    for (std::size_t r = 0; r < ids.size(); ++r)
      for (std::size_t j = 0; j < 18; ++j)
        EXPECT_EQ(v.x[r * 18 + j],
                  static_cast<float>(static_cast<std::size_t>(ids[r]) * 18 + j) / 255.0f);
  }
  EXPECT_EQ(ds.test_examples().x[35], 1.0f);
}

TEST_F(Hdf5DatasetTest, ThreeDimensionalXAndNumClassesAttribute) {
  {
    H5Handle f = create();
    put<double>(f, "/train/x", {3, 2, 4}, std::vector<double>(24, 0.25));
    put<std::int16_t>(f, "/train/y", {3}, {0, 1, 2});
    put<double>(f, "/test/x", {1, 2, 4}, std::vector<double>(8, 0.5));
    put<std::int16_t>(f, "/test/y", {1}, {1});
    put_root_int(f, "num_classes", 47);
  }
  data::Hdf5Dataset ds(cfg_, 2);
  EXPECT_EQ(ds.input_shape().channels, 1);
  EXPECT_EQ(ds.input_shape().height, 2);
  EXPECT_EQ(ds.input_shape().width, 4);
  EXPECT_EQ(ds.num_classes(), 47);
  std::vector<std::int64_t> h(47);
  ds.label_histogram(0, h);
  EXPECT_EQ(std::accumulate(h.begin(), h.end(), std::int64_t{0}), 1);
}

TEST_F(Hdf5DatasetTest, NaturalLayoutClientsSortedByName) {
  {
    H5Handle f = create();
    // Created out of order: ids follow the names (a, b, c), not creation order.
    put<float>(f, "/clients/c/x", {1, 3}, {7, 8, 9});
    put<std::int32_t>(f, "/clients/c/y", {1}, {2});
    put<float>(f, "/clients/a/x", {2, 3}, {1, 2, 3, 4, 5, 6});
    put<std::int32_t>(f, "/clients/a/y", {2}, {0, 5});
    put<float>(f, "/clients/b/x", {3, 3}, ramp(9, 10.0f));
    put<std::int32_t>(f, "/clients/b/y", {3}, {1, 1, 3});
    put<float>(f, "/test/x", {2, 3}, ramp(6, 1.0f));
    put<std::int32_t>(f, "/test/y", {2}, {4, 0});
  }
  cfg_.partition = PartitionKind::kDirichlet;  // ignored by the natural layout
  data::Hdf5Dataset ds(cfg_, 3);
  EXPECT_EQ(ds.layout(), data::Hdf5Dataset::Layout::kNatural);
  ASSERT_EQ(ds.client_names().size(), 3u);
  EXPECT_EQ(ds.client_names()[0], "a");
  EXPECT_EQ(ds.client_names()[2], "c");
  EXPECT_EQ(ds.num_classes(), 6);
  EXPECT_EQ(ds.num_samples(0), 2);
  EXPECT_EQ(ds.num_samples(1), 3);
  EXPECT_EQ(ds.num_samples(2), 1);
  std::vector<std::int64_t> h(6);
  ds.label_histogram(1, h);
  EXPECT_EQ(h, (std::vector<std::int64_t>{0, 2, 0, 1, 0, 0}));

  const std::vector<int> mine = {0, 2};
  ds.materialize(mine, 0, 2);
  const auto a = ds.examples(0);
  ASSERT_EQ(a.n, 2);
  EXPECT_EQ(std::vector<float>(a.x, a.x + 6), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(a.y[1], 5);
  const auto c = ds.examples(2);
  ASSERT_EQ(c.n, 1);
  EXPECT_EQ(std::vector<float>(c.x, c.x + 3), (std::vector<float>{7, 8, 9}));
  EXPECT_THROW(ds.examples(1), InternalError);
  EXPECT_EQ(ds.test_examples().y[0], 4);
}

TEST_F(Hdf5DatasetTest, NaturalLayoutNeedsMatchingNumClients) {
  {
    H5Handle f = create();
    for (const char* name : {"/clients/u1", "/clients/u2"}) {
      put<float>(f, std::string(name) + "/x", {1, 2}, {1, 2});
      put<std::int32_t>(f, std::string(name) + "/y", {1}, {0});
    }
    put<float>(f, "/test/x", {1, 2}, {1, 2});
    put<std::int32_t>(f, "/test/y", {1}, {0});
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "holds 2 client groups", "data.num_clients");
  cfg_.num_clients = 2;
  cfg_.min_samples = 2;
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "/clients/u1 holds 1 examples",
               "data.min_samples");
}

TEST_F(Hdf5DatasetTest, FactoryOpensIt) {
  write_flat(create());
  const auto ds = data::open_federated_dataset(cfg_, 4);
  EXPECT_EQ(ds->num_clients(), 3);
  EXPECT_EQ(ds->num_samples(0) + ds->num_samples(1) + ds->num_samples(2), 12);
}

TEST_F(Hdf5DatasetTest, MissingAndNonHdf5Files) {
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "file not found");
  std::ofstream(path_) << "not hdf5\n";
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "not an HDF5 file");
}

TEST_F(Hdf5DatasetTest, MissingObjects) {
  { H5Handle f = create(); }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "neither /train");
  {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, "/test/y", H5P_DEFAULT), "H5Ldelete");
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "missing dataset /test/y");
  {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, "/train/x", H5P_DEFAULT), "H5Ldelete");
    H5Handle g(H5Gcreate2(f, "/train/x", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate");
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "/train/x is not a dataset");
}

TEST_F(Hdf5DatasetTest, WrongRankTypeLengthAndLabels) {
  {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, "/train/x", H5P_DEFAULT), "H5Ldelete");
    put<float>(f, "/train/x", {12}, ramp(12, 1.0f));
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "/train/x has rank 1");
  {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, "/train/x", H5P_DEFAULT), "H5Ldelete");
    put<std::int16_t>(f, "/train/x", {12, 5}, std::vector<std::int16_t>(60, 1));
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "/train/x has element type int16");
  {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, "/train/y", H5P_DEFAULT), "H5Ldelete");
    put<float>(f, "/train/y", {12}, ramp(12, 1.0f));
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "/train/y has element type float32");
  {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, "/train/y", H5P_DEFAULT), "H5Ldelete");
    put<std::int32_t>(f, "/train/y", {11}, std::vector<std::int32_t>(11, 0));
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "/train/x has 12 rows but /train/y has 11");
  {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, "/test/y", H5P_DEFAULT), "H5Ldelete");
    put<std::int32_t>(f, "/test/y", {4}, {0, 1, -3, 0});
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "negative label -3 at row 2 of /test/y");
  {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, "/test/y", H5P_DEFAULT), "H5Ldelete");
    put<std::int64_t>(f, "/test/y", {4}, {0, 1, std::int64_t{1} << 40, 0});
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); },
               "at row 2 of /test/y exceeds the supported maximum");
  {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, "/test/x", H5P_DEFAULT), "H5Ldelete");
    put<float>(f, "/test/x", {4, 6}, ramp(24, 1.0f));
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "/test/x has examples of shape (6)");
  {
    H5Handle f = create();
    write_flat(f);
    put_root_int(f, "num_classes", 3);
  }
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "attribute /num_classes = 3");
}

// Found by tests/fuzz/fuzz_hdf5_dataset: a corrupt file declared /test/y as an
// integer of ~4 GB per element, and HDF5's conversion to int32 allocated it.
TEST_F(Hdf5DatasetTest, ElementTypesWiderThan64BitsAreRejectedBeforeReading) {
  /// Replaces dataset `name` by one of n elements whose type is `base` widened to 16 bytes.
  const auto put_wide = [&](const char* name, hid_t base, std::vector<hsize_t> dims) {
    H5Handle f = create();
    write_flat(f);
    io::h5check(H5Ldelete(f, name, H5P_DEFAULT), "H5Ldelete");
    H5Handle type(H5Tcopy(base), "H5Tcopy");
    io::h5check(H5Tset_size(type, 16), "H5Tset_size");
    H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate");
    H5Handle d(H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Dcreate");
  };
  put_wide("/test/y", H5T_NATIVE_INT64, {4});
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); },
               "/test/y has element type int128; expected an integer type of at most 64 bits");
  put_wide("/train/x", H5T_NATIVE_DOUBLE, {12, 5});
  expect_error([&] { data::Hdf5Dataset(cfg_, 1); }, "/train/x has element type float128");
}
