#pragma once
/// Read-only access to a small HDF5 file by one process (checkpoints).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/io/h5_handle.hpp"

namespace fedhpc::io {

/// Opens `path` read-only; every failure throws IoError naming the file and object.
class H5Reader {
 public:
  explicit H5Reader(const std::string& path);
  bool has(const std::string& object) const;
  std::string string_attribute(const std::string& object, const std::string& name) const;
  std::int64_t int_attribute(const std::string& object, const std::string& name) const;
  double double_attribute(const std::string& object, const std::string& name) const;
  /// The whole dataset, flattened, converted to T.
  template <class T>
  std::vector<T> read(const std::string& dataset) const;
  /// Elements [first, first + out.size()) of a 1-D dataset, converted to T.
  template <class T>
  void read_range(const std::string& dataset, std::int64_t first, std::span<T> out) const;
  const std::string& path() const { return path_; }

 private:
  H5Handle open_attribute(const std::string& object, const std::string& name) const;
  std::string path_;
  H5Handle file_;
};

}  // namespace fedhpc::io
