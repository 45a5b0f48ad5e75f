// libFuzzer harness: the checkpoint reader (read_checkpoint, then
// read_shard_state) on hostile checkpoint contents. Structure-aware: the
// input decides what fedhpc's own writer stores (config text, counts, named
// state, client residuals of any form), then a list of edits made with the
// HDF5 API (attributes replaced by other values or types, residual index and
// state datasets replaced by arbitrary arrays, objects deleted), and the
// config and residual layout the reader expects. Mutating raw file bytes
// instead reaches libhdf5's own parser far more than fedhpc's code (and
// crashes inside it within seconds: docs/testing.md, fuzzing). Documented
// outcome for a bad checkpoint: ConfigError naming run.checkpoint. Anything
// else is a finding.
#include <fuzzer/FuzzedDataProvider.h>
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/comm/environment.hpp"
#include "fedhpc/compress/residual_store.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/io/h5_handle.hpp"
#include "fedhpc/sim/checkpoint.hpp"
#include "fuzz_file.hpp"

using namespace fedhpc;
using io::H5Handle;

namespace {

constexpr std::size_t kMaxResidual = 16;  // largest residual size n of the stores
constexpr std::size_t kMaxClients = 6;
/// A config the fuzzer can pick as a whole (two keys are enough for the diff path).
constexpr const char* kConfig = "[run]\nseed = 1\n\n[server]\nrounds = 4\n";
/// Rows of each series in the results copy (the state may refer to fewer or more).
constexpr std::int64_t kResultsRows = 16;

/// Writes a results copy holding /rounds/round, /clients/round and
/// /model/round of kResultsRows rows each (serial HDF5).
void write_results_copy(const std::string& path) {
  const H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate " + path);
  const H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  io::h5check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  const auto rows = static_cast<hsize_t>(kResultsRows);
  const H5Handle space(H5Screate_simple(1, &rows, nullptr), "H5Screate_simple");
  std::vector<std::int64_t> round(static_cast<std::size_t>(kResultsRows));
  for (std::size_t i = 0; i < round.size(); ++i) round[i] = static_cast<std::int64_t>(i);
  for (const char* name : {"/rounds/round", "/clients/round", "/model/round"}) {
    const H5Handle d(H5Dcreate2(file, name, H5T_NATIVE_INT64, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
                     std::string("H5Dcreate2 ") + name);
    io::h5check(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, round.data()),
                std::string("H5Dwrite ") + name);
  }
}

/// What every input shares: MPI (the writer is collective), a scratch
/// directory and the results file the writer copies.
struct Fixture {
  std::unique_ptr<comm::Environment> env;
  std::unique_ptr<comm::Communicator> comm;
  std::unique_ptr<fuzz::ScratchDir> dir;
  std::string results;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

compress::ResidualSpec pick_spec(FuzzedDataProvider& in) {
  compress::ResidualSpec spec;
  spec.form = in.PickValueInArray({compress::ResidualForm::kFp32, compress::ResidualForm::kFp16,
                                   compress::ResidualForm::kInt8, compress::ResidualForm::kSparse});
  spec.sparse_ratio = in.PickValueInArray({0.1, 0.5, 1.0});
  spec.int8_block = in.ConsumeIntegralInRange<std::size_t>(1, 8);
  return spec;
}

std::vector<float> floats(FuzzedDataProvider& in, std::size_t max) {
  std::vector<float> v(in.ConsumeIntegralInRange<std::size_t>(0, max));
  for (float& x : v) x = in.ConsumeFloatingPoint<float>();
  return v;
}

void replace_attribute(hid_t file, FuzzedDataProvider& in) {
  const char* name = in.PickValueInArray({"format", "config", "state", "next_round", "client_rows",
                                          "snapshots", "elapsed_seconds", "residual_entries",
                                          "residual_bytes", "checksum"});
  if (H5Aexists(file, name) > 0) io::h5check(H5Adelete(file, name), "H5Adelete");
  const int kind = in.ConsumeIntegralInRange(0, 3);
  if (kind == 3) return;  // deleted
  const H5Handle space(H5Screate(H5S_SCALAR), "H5Screate");
  if (kind == 0) {
    const std::int64_t v = in.ConsumeIntegral<std::int64_t>();
    const H5Handle a(H5Acreate2(file, name, H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
    io::h5check(H5Awrite(a, H5T_NATIVE_INT64, &v), "H5Awrite");
  } else if (kind == 1) {
    const double v = in.ConsumeFloatingPoint<double>();
    const H5Handle a(H5Acreate2(file, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
    io::h5check(H5Awrite(a, H5T_NATIVE_DOUBLE, &v), "H5Awrite");
  } else {
    const std::string s = in.ConsumeRandomLengthString(64);
    const H5Handle type(H5Tcopy(H5T_C_S1), "H5Tcopy");
    io::h5check(H5Tset_size(type, H5T_VARIABLE), "H5Tset_size");
    const H5Handle a(H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
    const char* p = s.c_str();
    io::h5check(H5Awrite(a, type, &p), "H5Awrite");
  }
}

void replace_dataset(hid_t file, FuzzedDataProvider& in) {
  const char* name = in.PickValueInArray({"/model", "/residual/client", "/residual/size",
                                          "/residual/offset", "/residual/hash", "/residual/round",
                                          "/residual/blob"});
  if (H5Lexists(file, "/residual", H5P_DEFAULT) <= 0) return;
  if (H5Lexists(file, name, H5P_DEFAULT) > 0) io::h5check(H5Ldelete(file, name, H5P_DEFAULT), "H5Ldelete");
  if (in.ConsumeBool()) return;  // deleted
  std::vector<std::int64_t> v(in.ConsumeIntegralInRange<std::size_t>(0, 8));
  for (auto& x : v)
    x = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::int64_t>(-2, 64) : in.ConsumeIntegral<std::int64_t>();
  const hsize_t dims[2] = {v.size(), 1};
  const H5Handle space(H5Screate_simple(in.ConsumeBool() ? 1 : 2, dims, nullptr), "H5Screate_simple");
  const hid_t type = in.ConsumeBool() ? H5T_NATIVE_INT64 : H5T_NATIVE_FLOAT;
  const H5Handle d(H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Dcreate2");
  if (!v.empty()) io::h5check(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dwrite");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  Fixture& f = fixture();
  f.env = std::make_unique<comm::Environment>(*argc, *argv);
  f.comm = std::make_unique<comm::Communicator>(MPI_COMM_WORLD);
  f.dir = std::make_unique<fuzz::ScratchDir>();
  f.results = f.dir->file("results.h5");
  write_results_copy(f.results);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  FuzzedDataProvider in(data, size);
  const std::string path = f.dir->file("state.h5");

  // What the writer stores.
  sim::Checkpoint c;
  c.config_ini = in.ConsumeBool() ? kConfig : in.ConsumeRandomLengthString(128);
  c.next_round = in.ConsumeIntegralInRange<std::int64_t>(-1, kResultsRows + 1);
  c.client_rows = in.ConsumeIntegralInRange<std::int64_t>(-1, kResultsRows + 1);
  c.snapshots = in.ConsumeIntegralInRange<std::int64_t>(-1, kResultsRows + 1);
  c.elapsed_seconds = in.ConsumeFloatingPoint<double>();
  c.state.put("model", floats(in, kMaxResidual));
  for (int extra = in.ConsumeIntegralInRange(0, 2); extra > 0; --extra) {
    const std::string name = in.ConsumeRandomLengthString(12);
    if (name.empty() || name.find_first_of("/;.") != std::string::npos) continue;
    c.state.put(name, floats(in, 4));
  }
  const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(1, kMaxResidual);
  const std::size_t clients = in.ConsumeIntegralInRange<std::size_t>(1, kMaxClients);
  compress::ResidualStore written(pick_spec(in), n, clients);
  std::vector<std::int32_t> slot_client(clients);
  Rng rng(1, Purpose::kBench);
  for (std::size_t s = 0; s < clients; ++s) {
    slot_client[s] = static_cast<std::int32_t>(s);
    if (in.ConsumeBool()) {
      std::vector<float> r(n);
      for (float& x : r) x = in.ConsumeFloatingPoint<float>();
      written.store(s, r, rng);
    }
  }
  try {
    sim::write_checkpoint(*f.comm, path, c, f.results, {&written, slot_client});
  } catch (const Error&) {
    return 0;  // the writer refused (e.g. a state name HDF5 cannot hold): not the subject here
  }

  // Edits made after the fact, as corruption or another writer would.
  {
    const H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen " + path);
    for (int edits = in.ConsumeIntegralInRange(0, 3); edits > 0; --edits) {
      if (in.ConsumeBool()) replace_attribute(file, in);
      else replace_dataset(file, in);
    }
  }

  // What the reader expects.
  const std::string config = in.ConsumeBool() ? c.config_ini : in.ConsumeRandomLengthString(128);
  try {
    (void)sim::read_checkpoint(path, config);
  } catch (const ConfigError&) {
  }
  const std::size_t reader_n = in.ConsumeBool() ? n : in.ConsumeIntegralInRange<std::size_t>(1, kMaxResidual);
  compress::ResidualStore store(pick_spec(in), reader_n, kMaxClients);
  std::vector<std::int32_t> slot_of(in.ConsumeIntegralInRange<std::size_t>(0, kMaxClients));
  for (std::size_t i = 0; i < slot_of.size(); ++i)
    slot_of[i] = in.ConsumeBool() ? static_cast<std::int32_t>(i) : -1;
  std::vector<std::int32_t> slot_round(kMaxClients, -1);
  try {
    sim::read_shard_state(path, slot_of, store, slot_round);
  } catch (const ConfigError&) {
  }
  return 0;
}
