#include "fedhpc/io/results_file.hpp"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/io/durable.hpp"

namespace fedhpc::io {

ResultsFile::ResultsFile(const comm::Communicator& comm, std::string path, Mode mode)
    : comm_(&comm), path_(std::move(path)) {
  silence_hdf5_errors();
  H5Handle fapl(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(file access)");
  h5check(H5Pset_fapl_mpio(fapl, comm.get(), MPI_INFO_NULL), "H5Pset_fapl_mpio");
  h5check(H5Pset_all_coll_metadata_ops(fapl, true), "H5Pset_all_coll_metadata_ops");
  h5check(H5Pset_coll_metadata_write(fapl, true), "H5Pset_coll_metadata_write");
  const std::string part = part_path();
  if (mode == Mode::kCreate)
    file_ = H5Handle(H5Fcreate(part.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "H5Fcreate " + part);
  else
    file_ = H5Handle(H5Fopen(part.c_str(), H5F_ACC_RDWR, fapl), "H5Fopen " + part);
  dxpl_ = H5Handle(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate(transfer)");
  h5check(H5Pset_dxpl_mpio(dxpl_, H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
}

ResultsFile::~ResultsFile() {
  if (committed_) return;
  if (abandoned_) {
    file_.release();
    dxpl_.release();
    return;
  }
  file_.close();
  if (comm_->rank() == 0) {
    std::error_code ec;
    std::filesystem::remove(part_path(), ec);
  }
}

void ResultsFile::create_group(const std::string& path) {
  H5Handle g(H5Gcreate2(file_, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             "H5Gcreate " + path);
}

template <class T>
void ResultsFile::create_series(const std::string& path, std::size_t cols,
                                std::size_t chunk_rows) {
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t dims[2] = {0, cols};
  const hsize_t maxdims[2] = {H5S_UNLIMITED, cols};
  const hsize_t chunk[2] = {std::max<hsize_t>(1, chunk_rows), std::max<hsize_t>(1, cols)};
  H5Handle space(H5Screate_simple(rank, dims, maxdims), "H5Screate_simple " + path);
  H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(create) " + path);
  h5check(H5Pset_chunk(dcpl, rank, chunk), "H5Pset_chunk " + path);
  h5check(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "H5Pset_fill_time " + path);
  // A component's series may live in a group of its own ("/prune/...").
  H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate(link) " + path);
  h5check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group " + path);
  H5Handle d(H5Dcreate2(file_, path.c_str(), h5_type<T>::get(), space, lcpl, dcpl, H5P_DEFAULT),
             "H5Dcreate " + path);
}

namespace {
/// Above this many runs of consecutive rows a selection is written as points.
constexpr std::size_t kMaxHyperslabRuns = 64;
std::size_t count_runs(std::span<const std::int64_t> rows) {
  std::size_t runs = rows.empty() ? 0 : 1;
  for (std::size_t i = 1; i < rows.size(); ++i) runs += rows[i] != rows[i - 1] + 1 ? 1 : 0;
  return runs;
}
}  // namespace

void ResultsFile::write_selection(hid_t dset, hid_t type, std::int64_t first_row,
                                  std::size_t cols, std::span<const std::int64_t> my_rows,
                                  const void* data) {
  H5Handle fspace(H5Dget_space(dset), "H5Dget_space");
  const int rank = H5Sget_simple_extent_ndims(fspace);
  const hsize_t width = cols == 0 ? 1 : cols;
  if (my_rows.empty()) {
    h5check(H5Sselect_none(fspace), "H5Sselect_none");
  } else if (count_runs(my_rows) > kMaxHyperslabRuns) {
    // Many scattered rows (clients interleaved over ranks): a union of that
    // many hyperslabs costs HDF5 quadratic time, a point list is linear.
    std::vector<hsize_t> coords;
    coords.reserve(my_rows.size() * width * static_cast<std::size_t>(rank));
    for (const std::int64_t r : my_rows)
      for (hsize_t c = 0; c < width; ++c) {
        coords.push_back(static_cast<hsize_t>(first_row + r));
        if (rank == 2) coords.push_back(c);
      }
    h5check(H5Sselect_elements(fspace, H5S_SELECT_SET, my_rows.size() * width, coords.data()),
            "H5Sselect_elements");
  } else {
    // Coalesce runs of consecutive rows into one hyperslab each.
    bool first = true;
    for (std::size_t i = 0; i < my_rows.size();) {
      std::size_t j = i + 1;
      while (j < my_rows.size() && my_rows[j] == my_rows[j - 1] + 1) ++j;
      const hsize_t start[2] = {static_cast<hsize_t>(first_row + my_rows[i]), 0};
      const hsize_t count[2] = {static_cast<hsize_t>(j - i), width};
      h5check(H5Sselect_hyperslab(fspace, first ? H5S_SELECT_SET : H5S_SELECT_OR, start, nullptr,
                                  count, nullptr),
              "H5Sselect_hyperslab");
      first = false;
      i = j;
    }
  }
  const hsize_t mdims[2] = {std::max<hsize_t>(1, my_rows.size()), width};
  H5Handle mspace(H5Screate_simple(rank, mdims, nullptr), "H5Screate_simple(memory)");
  if (my_rows.empty()) h5check(H5Sselect_none(mspace), "H5Sselect_none");
  h5check(H5Dwrite(dset, type, mspace, fspace, dxpl_, data), "H5Dwrite");
}

template <class T>
void ResultsFile::append(const std::string& path, std::int64_t new_rows,
                         std::span<const std::int64_t> my_rows, std::span<const T> values) {
  H5Handle d(H5Dopen2(file_, path.c_str(), H5P_DEFAULT), "H5Dopen " + path);
  H5Handle space(H5Dget_space(d), "H5Dget_space " + path);
  hsize_t dims[2] = {0, 0};
  const int rank = H5Sget_simple_extent_dims(space, dims, nullptr);
  const std::size_t cols = rank == 2 ? dims[1] : 0;
  const std::int64_t first_row = static_cast<std::int64_t>(dims[0]);
  dims[0] += static_cast<hsize_t>(new_rows);
  h5check(H5Dset_extent(d, dims), "H5Dset_extent " + path);
  try {
    write_selection(d, h5_type<T>::get(), first_row, cols, my_rows, values.data());
  } catch (const IoError& e) {
    throw IoError(std::string(e.what()) + " (" + path + ")");
  }
}

template <class T>
void ResultsFile::write_block(const std::string& path, std::int64_t rows, std::size_t cols,
                              std::int64_t row_begin, std::span<const T> values) {
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t dims[2] = {static_cast<hsize_t>(rows), cols};
  H5Handle d;
  if (H5Lexists(file_, path.c_str(), H5P_DEFAULT) > 0) {  // rewritten on resume
    d = H5Handle(H5Dopen2(file_, path.c_str(), H5P_DEFAULT), "H5Dopen " + path);
  } else {
    H5Handle space(H5Screate_simple(rank, dims, nullptr), "H5Screate_simple " + path);
    H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(create) " + path);
    h5check(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "H5Pset_fill_time " + path);
    d = H5Handle(H5Dcreate2(file_, path.c_str(), h5_type<T>::get(), space, H5P_DEFAULT, dcpl,
                            H5P_DEFAULT),
                 "H5Dcreate " + path);
  }
  if (rows == 0) return;  // an empty dataset: created, nothing to write
  // One hyperslab of whole rows per call, at most kMaxWriteBytes per rank and
  // call (MPI-IO counts are int); every rank makes the same number of calls.
  constexpr std::size_t kMaxWriteBytes = std::size_t{1} << 30;
  const std::size_t width = std::max<std::size_t>(1, cols);
  const std::size_t my_rows = values.size() / width;
  const std::size_t step = std::max<std::size_t>(1, kMaxWriteBytes / (width * sizeof(T)));
  const auto calls = comm::allreduce_max(
      *comm_, static_cast<std::int64_t>((my_rows + step - 1) / step));
  try {
    for (std::int64_t k = 0; k < std::max<std::int64_t>(1, calls); ++k) {
      const std::size_t b = std::min(my_rows, static_cast<std::size_t>(k) * step);
      const std::size_t n = std::min(step, my_rows - b);
      H5Handle fspace(H5Dget_space(d), "H5Dget_space");
      const hsize_t start[2] = {static_cast<hsize_t>(row_begin) + b, 0};
      const hsize_t count[2] = {n, width};
      if (n == 0) h5check(H5Sselect_none(fspace), "H5Sselect_none");
      else h5check(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr),
                   "H5Sselect_hyperslab");
      const hsize_t mdims[2] = {std::max<hsize_t>(1, n), width};
      H5Handle mspace(H5Screate_simple(rank, mdims, nullptr), "H5Screate_simple(memory)");
      if (n == 0) h5check(H5Sselect_none(mspace), "H5Sselect_none");
      h5check(H5Dwrite(d, h5_type<T>::get(), mspace, fspace, dxpl_, values.data() + b * width),
              "H5Dwrite");
    }
  } catch (const IoError& e) {
    throw IoError(std::string(e.what()) + " (" + path + ")");
  }
}

template <class T>
void ResultsFile::write_scalar(const std::string& path, T value) {
  H5Handle space(H5Screate(H5S_SCALAR), "H5Screate(scalar) " + path);
  H5Handle d(H5Dcreate2(file_, path.c_str(), h5_type<T>::get(), space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             "H5Dcreate " + path);
  // Collective write in which rank 0 alone selects the element.
  H5Handle fspace(H5Dget_space(d), "H5Dget_space " + path);
  H5Handle mspace(H5Screate(H5S_SCALAR), "H5Screate(scalar memory) " + path);
  if (comm_->rank() != 0) {
    h5check(H5Sselect_none(fspace), "H5Sselect_none " + path);
    h5check(H5Sselect_none(mspace), "H5Sselect_none " + path);
  }
  h5check(H5Dwrite(d, h5_type<T>::get(), mspace, fspace, dxpl_, &value), "H5Dwrite " + path);
}

std::int64_t ResultsFile::rows(const std::string& path) {
  H5Handle d(H5Dopen2(file_, path.c_str(), H5P_DEFAULT), "H5Dopen " + path);
  H5Handle space(H5Dget_space(d), "H5Dget_space " + path);
  hsize_t dims[2] = {0, 0};
  h5check(H5Sget_simple_extent_dims(space, dims, nullptr), "H5Sget_simple_extent_dims " + path);
  return static_cast<std::int64_t>(dims[0]);
}

void ResultsFile::truncate(const std::string& path, std::int64_t rows) {
  H5Handle d(H5Dopen2(file_, path.c_str(), H5P_DEFAULT), "H5Dopen " + path);
  H5Handle space(H5Dget_space(d), "H5Dget_space " + path);
  hsize_t dims[2] = {0, 0};
  h5check(H5Sget_simple_extent_dims(space, dims, nullptr), "H5Sget_simple_extent_dims " + path);
  if (static_cast<std::int64_t>(dims[0]) < rows)
    throw IoError(path + " holds " + std::to_string(dims[0]) + " rows, fewer than the " +
                  std::to_string(rows) + " the checkpoint expects");
  dims[0] = static_cast<hsize_t>(rows);
  h5check(H5Dset_extent(d, dims), "H5Dset_extent " + path);
}

namespace {
H5Handle open_object(hid_t file, const std::string& object) {
  return H5Handle(H5Oopen(file, object.c_str(), H5P_DEFAULT), "H5Oopen " + object);
}
void write_attribute(hid_t obj, const std::string& name, hid_t type, const void* value) {
  if (H5Aexists(obj, name.c_str()) > 0) h5check(H5Adelete(obj, name.c_str()), "H5Adelete " + name);
  H5Handle space(H5Screate(H5S_SCALAR), "H5Screate(scalar)");
  H5Handle a(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
             "H5Acreate " + name);
  h5check(H5Awrite(a, type, value), "H5Awrite " + name);
}
}  // namespace

void ResultsFile::set_attribute(const std::string& object, const std::string& name,
                                const std::string& value) {
  H5Handle obj = open_object(file_, object);
  H5Handle type(H5Tcopy(H5T_C_S1), "H5Tcopy");
  h5check(H5Tset_size(type, H5T_VARIABLE), "H5Tset_size");
  h5check(H5Tset_cset(type, H5T_CSET_UTF8), "H5Tset_cset");
  const char* p = value.c_str();
  write_attribute(obj, name, type, &p);
}

void ResultsFile::set_attribute(const std::string& object, const std::string& name,
                                std::int64_t value) {
  H5Handle obj = open_object(file_, object);
  write_attribute(obj, name, H5T_NATIVE_INT64, &value);
}

void ResultsFile::set_attribute(const std::string& object, const std::string& name,
                                double value) {
  H5Handle obj = open_object(file_, object);
  write_attribute(obj, name, H5T_NATIVE_DOUBLE, &value);
}

void ResultsFile::flush() { h5check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "H5Fflush " + path_); }

void ResultsFile::commit() {
  h5check(file_.close(), "H5Fclose " + part_path());
  comm_->barrier();
  std::string error;
  if (comm_->rank() == 0) {
    try {
      durable_rename(part_path(), path_);  // data on disk, renamed, the directory entry on disk
    } catch (const IoError& e) {
      error = e.what();
    }
  }
  int failed = error.empty() ? 0 : 1;
  comm::mpi_check(MPI_Bcast(&failed, 1, MPI_INT, 0, comm_->get()), "MPI_Bcast");
  committed_ = true;  // the file is complete: never delete it, even if the rename failed
  if (failed)
    throw AgreedIoError((error.empty() ? std::string("renaming the results file failed") : error) +
                        "; the complete results are in " + part_path());
}

#define FEDHPC_RESULTS_INSTANTIATE(T)                                                       \
  template void ResultsFile::create_series<T>(const std::string&, std::size_t, std::size_t); \
  template void ResultsFile::append<T>(const std::string&, std::int64_t,                    \
                                       std::span<const std::int64_t>, std::span<const T>);  \
  template void ResultsFile::write_block<T>(const std::string&, std::int64_t, std::size_t,  \
                                            std::int64_t, std::span<const T>);                 \
  template void ResultsFile::write_scalar<T>(const std::string&, T);
FEDHPC_RESULTS_INSTANTIATE(double)
FEDHPC_RESULTS_INSTANTIATE(float)
FEDHPC_RESULTS_INSTANTIATE(std::int64_t)
FEDHPC_RESULTS_INSTANTIATE(std::int32_t)
FEDHPC_RESULTS_INSTANTIATE(std::uint8_t)
#undef FEDHPC_RESULTS_INSTANTIATE

}  // namespace fedhpc::io
