#pragma once
/// One parallel HDF5 results file, written collectively by all ranks with the
/// MPI-IO driver. The file is created as "<path>.part" and renamed to <path>
/// only by commit(), so a failed run never leaves a half-written results file
/// and never destroys an existing one.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/io/h5_handle.hpp"

namespace fedhpc::io {

/// Element types a results dataset can hold.
template <class T> struct h5_type;
template <> struct h5_type<double> { static hid_t get() { return H5T_NATIVE_DOUBLE; } };
template <> struct h5_type<float> { static hid_t get() { return H5T_NATIVE_FLOAT; } };
template <> struct h5_type<std::int64_t> { static hid_t get() { return H5T_NATIVE_INT64; } };
template <> struct h5_type<std::int32_t> { static hid_t get() { return H5T_NATIVE_INT32; } };
template <> struct h5_type<std::uint8_t> { static hid_t get() { return H5T_NATIVE_UINT8; } };

/// Collective results file. Every member function is collective: all ranks
/// call it in the same order with the same shapes.
class ResultsFile {
 public:
  /// kCreate: create path + ".part" (truncating a stale one);
  /// kReopen: open the existing path + ".part" to continue writing it.
  enum class Mode { kCreate, kReopen };
  ResultsFile(const comm::Communicator& comm, std::string path, Mode mode = Mode::kCreate);
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;
  /// Without commit(): closes and deletes the partial file.
  ~ResultsFile();

  /// Creates a group (parents must exist).
  void create_group(const std::string& path);
  /// Creates an extendible dataset of 0 rows and `cols` columns (cols == 0:
  /// 1-D) chunked by `chunk_rows` rows, no fill value written.
  template <class T>
  void create_series(const std::string& path, std::size_t cols, std::size_t chunk_rows);
  /// Grows a series by `new_rows`; this rank writes rows `my_rows` (ascending,
  /// relative to the first new row) from `values` (my_rows.size() x cols).
  template <class T>
  void append(const std::string& path, std::int64_t new_rows,
              std::span<const std::int64_t> my_rows, std::span<const T> values);
  /// Creates a fixed (rows x cols, cols == 0: 1-D) dataset; this rank writes
  /// the contiguous rows [row_begin, row_begin + values.size()/max(cols,1)).
  template <class T>
  void write_block(const std::string& path, std::int64_t rows, std::size_t cols,
                   std::int64_t row_begin, std::span<const T> values);
  /// Creates a scalar dataset holding value (rank 0's).
  template <class T>
  void write_scalar(const std::string& path, T value);
  /// Number of rows of a series.
  std::int64_t rows(const std::string& path);
  /// Cuts a series back to `rows` rows (used when resuming from a checkpoint).
  void truncate(const std::string& path, std::int64_t rows);
  /// Attribute on an object ("/" for the root); same value on every rank.
  void set_attribute(const std::string& object, const std::string& name, const std::string& value);
  void set_attribute(const std::string& object, const std::string& name, std::int64_t value);
  void set_attribute(const std::string& object, const std::string& name, double value);
  /// Flushes buffered data to the file (collective).
  void flush();
  /// Closes the file and renames it to its final path. If only the rename
  /// fails, the complete file is kept under part_path() (AgreedIoError).
  void commit();
  /// Called when this rank alone fails: the destructor then skips the
  /// collective close (the job is about to abort) and leaves cleanup to main.
  void abandon() noexcept { abandoned_ = true; }

  const std::string& path() const { return path_; }
  std::string part_path() const { return path_ + ".part"; }

 private:
  void write_selection(hid_t dset, hid_t type, std::int64_t first_row, std::size_t cols,
                       std::span<const std::int64_t> my_rows, const void* data);
  const comm::Communicator* comm_;
  std::string path_;
  H5Handle file_;
  H5Handle dxpl_;
  bool committed_ = false;
  bool abandoned_ = false;
};

}  // namespace fedhpc::io
