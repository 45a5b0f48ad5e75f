// libFuzzer harness: the HDF5 dataset reader (Hdf5Dataset, flat and natural
// layouts) on arbitrary bytes, then every client's and the test set's inputs
// read back (materialize). Documented outcome for a bad file: ConfigError
// (data.path, data.num_clients, data.min_samples) or IoError from the checked
// HDF5 calls. Anything else is a finding. HDF5's own error stack printing is
// off (the reader silences it); faults inside libhdf5 are reported as they are.
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/data/hdf5_dataset.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fedhpc::fuzz::ScratchDir dir;
  fedhpc::DataSection cfg;
  cfg.source = fedhpc::DataSource::kHdf5;
  cfg.path = dir.file("input.h5");
  cfg.num_clients = 2;  // the seeds' natural layout holds two client groups
  cfg.partition = fedhpc::PartitionKind::kIid;
  cfg.min_samples = 1;
  fedhpc::fuzz::write_bytes(cfg.path, data, size);
  try {
    fedhpc::data::Hdf5Dataset ds(cfg, /*seed=*/1);
    std::vector<int> clients(static_cast<std::size_t>(ds.num_clients()));
    std::iota(clients.begin(), clients.end(), 0);
    ds.materialize(clients, 0, ds.test_size());
  } catch (const fedhpc::ConfigError&) {
  } catch (const fedhpc::IoError&) {
  }
  return 0;
}
