// libFuzzer harness: the HDF5 dataset reader (Hdf5Dataset) on hostile but
// well-formed HDF5 files. Structure-aware: the input decides the file's
// layout (flat or natural, groups present or not, objects of the wrong kind),
// every dataset's rank, extents, element type, storage (contiguous, chunked,
// never written) and values, the num_classes attribute, and the data section
// of the config; the harness writes that file with the HDF5 API and reads it
// back, every client and the test set included (materialize). Raw file bytes
// are fuzzed by fuzz_hdf5_bytes, which mostly exercises libhdf5's own parser
// (docs/testing.md). Documented outcome for a bad file: ConfigError (data.path,
// data.num_clients, data.min_samples) or IoError from a checked HDF5 call.
// Anything else is a finding.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/data/hdf5_dataset.hpp"
#include "fedhpc/io/h5_handle.hpp"
#include "fuzz_file.hpp"

using namespace fedhpc;
using io::H5Handle;

namespace {

constexpr hsize_t kMaxRows = 12;
constexpr hsize_t kMaxExtent = 6;

/// A stored element type; values are written from doubles and HDF5 converts.
hid_t pick_type(FuzzedDataProvider& in) {
  return in.PickValueInArray({H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE, H5T_NATIVE_UINT8, H5T_NATIVE_INT8,
                              H5T_NATIVE_INT16, H5T_NATIVE_UINT16, H5T_NATIVE_INT32, H5T_NATIVE_INT64,
                              H5T_NATIVE_UINT64});
}

/// Writes dataset `name` of `rows` rows and example extents `example` (any rank).
void put_dataset(hid_t file, const std::string& name, hsize_t rows, const std::vector<hsize_t>& example,
                 FuzzedDataProvider& in) {
  std::vector<hsize_t> dims = {rows};
  dims.insert(dims.end(), example.begin(), example.end());
  hsize_t n = 1;
  for (const hsize_t d : dims) n *= d;
  const H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  io::h5check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  const H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  const int storage = in.ConsumeIntegralInRange(0, 2);  // 0 contiguous, 1 chunked, 2 chunked + gzip
  if (storage > 0 && n > 0) {
    std::vector<hsize_t> chunk(dims);
    for (hsize_t& c : chunk) c = std::max<hsize_t>(1, in.ConsumeIntegralInRange<hsize_t>(1, std::max<hsize_t>(1, c)));
    io::h5check(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), "H5Pset_chunk");
    if (storage == 2) io::h5check(H5Pset_deflate(dcpl, 1), "H5Pset_deflate");
  }
  const hid_t type = pick_type(in);
  const H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple");
  const hid_t id = H5Dcreate2(file, name.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT);
  if (id < 0) return;  // e.g. a group of that name exists: the file just lacks this dataset
  const H5Handle d(id, "H5Dcreate2 " + name);
  if (n == 0 || in.ConsumeBool()) return;  // sometimes never written: fill values only
  std::vector<double> v(n);
  const bool labels_like = in.ConsumeBool();
  for (double& x : v)
    x = labels_like ? in.ConsumeIntegralInRange(-1, 11) : in.ConsumeFloatingPoint<double>();
  // Conversion of out-of-range values may fail (e.g. NaN to an integer): then the file keeps fill values.
  (void)H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
}

/// x and y of one group: usually consistent, sometimes not (rows, shapes, kinds).
void put_pair(hid_t file, const std::string& group, const std::vector<hsize_t>& example,
              FuzzedDataProvider& in) {
  const hsize_t rows = in.ConsumeIntegralInRange<hsize_t>(0, kMaxRows);
  if (in.ConsumeProbability<float>() > 0.05f) {
    std::vector<hsize_t> ex = example;
    if (in.ConsumeProbability<float>() < 0.1f) ex.resize(in.ConsumeIntegralInRange<std::size_t>(0, 4), 2);
    put_dataset(file, group + "/x", rows, ex, in);
  }
  if (in.ConsumeProbability<float>() > 0.05f) {
    const hsize_t y_rows = in.ConsumeProbability<float>() < 0.1f ? in.ConsumeIntegralInRange<hsize_t>(0, kMaxRows) : rows;
    std::vector<hsize_t> ex;
    if (in.ConsumeProbability<float>() < 0.05f) ex.push_back(2);
    put_dataset(file, group + "/y", y_rows, ex, in);
  }
}

void put_num_classes(hid_t file, FuzzedDataProvider& in) {
  const hsize_t n = in.ConsumeProbability<float>() < 0.1f ? 2 : 1;
  const H5Handle space(n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), "H5Screate");
  const hid_t type = pick_type(in);
  const H5Handle a(H5Acreate2(file, "num_classes", type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  const double v[2] = {in.ConsumeBool() ? in.ConsumeIntegralInRange(-1, 70000) : in.ConsumeFloatingPoint<double>(),
                       in.ConsumeFloatingPoint<double>()};
  (void)H5Awrite(a, H5T_NATIVE_DOUBLE, v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::ScratchDir dir;
  FuzzedDataProvider in(data, size);
  DataSection cfg;
  cfg.source = DataSource::kHdf5;
  cfg.path = dir.file("input.h5");
  cfg.num_clients = in.ConsumeIntegralInRange(1, 5);
  cfg.partition = in.PickValueInArray({PartitionKind::kIid, PartitionKind::kDirichlet,
                                       PartitionKind::kShards, PartitionKind::kQuantity});
  cfg.alpha = in.PickValueInArray({0.1, 0.5, 100.0});
  cfg.classes_per_client = in.ConsumeIntegralInRange(1, 4);
  cfg.quantity_sigma = in.PickValueInArray({0.0, 1.0, 3.0});
  cfg.min_samples = in.ConsumeIntegralInRange(0, 3);

  {
    const H5Handle file(H5Fcreate(cfg.path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate " + cfg.path);
    std::vector<hsize_t> example(in.ConsumeIntegralInRange<std::size_t>(1, 3));
    for (hsize_t& e : example) e = in.ConsumeIntegralInRange<hsize_t>(in.ConsumeBool() ? 1 : 0, kMaxExtent);
    if (in.ConsumeBool()) {
      put_pair(file, "/train", example, in);
    } else {
      for (int clients = in.ConsumeIntegralInRange(0, 5); clients > 0; --clients) {
        std::string name = in.ConsumeRandomLengthString(6);
        if (name.empty() || name == "." || name.find('/') != std::string::npos) name = "c" + std::to_string(clients);
        put_pair(file, "/clients/" + name, example, in);
      }
    }
    put_pair(file, "/test", example, in);
    if (in.ConsumeBool()) put_num_classes(file, in);
  }

  try {
    data::Hdf5Dataset ds(cfg, /*seed=*/1);
    std::vector<int> clients(static_cast<std::size_t>(ds.num_clients()));
    std::iota(clients.begin(), clients.end(), 0);
    ds.materialize(clients, 0, ds.test_size());
  } catch (const ConfigError&) {
  } catch (const IoError&) {
  }
  return 0;
}
