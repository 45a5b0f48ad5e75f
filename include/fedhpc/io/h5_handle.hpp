#pragma once
/// RAII ownership of HDF5 identifiers and checked calls that throw IoError
/// with context. No H5Xclose is written outside this file.
#include <hdf5.h>

#include <string>
#include <utility>

#include "fedhpc/core/error.hpp"

namespace fedhpc::io {

/// Owns one hid_t and closes it with H5Idec_ref-equivalent close on destruction.
class H5Handle {
 public:
  H5Handle() noexcept = default;
  /// Takes ownership of id; throws IoError(context) if id is negative.
  H5Handle(hid_t id, const std::string& context) : id_(id) {
    if (id_ < 0) throw IoError(context + " failed");
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  H5Handle(H5Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  H5Handle& operator=(H5Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~H5Handle() { reset(); }

  hid_t get() const noexcept { return id_; }
  operator hid_t() const noexcept { return id_; }  // NOLINT: handles pass where hid_t is expected
  bool valid() const noexcept { return id_ >= 0; }
  /// Forgets the id without closing it (for an abort, where a collective
  /// close would wait for ranks that will never join).
  void release() noexcept { id_ = H5I_INVALID_HID; }
  /// Closes now; close errors are reported by the returned status.
  herr_t close() noexcept {
    herr_t s = 0;
    if (id_ >= 0) s = close_id(id_);
    id_ = H5I_INVALID_HID;
    return s;
  }

 private:
  void reset() noexcept { (void)close(); }
  static herr_t close_id(hid_t id) noexcept {
    switch (H5Iget_type(id)) {
      case H5I_FILE: return H5Fclose(id);
      case H5I_GROUP: return H5Gclose(id);
      case H5I_DATASET: return H5Dclose(id);
      case H5I_DATASPACE: return H5Sclose(id);
      case H5I_DATATYPE: return H5Tclose(id);
      case H5I_ATTR: return H5Aclose(id);
      case H5I_GENPROP_LST: return H5Pclose(id);
      default: return H5Idec_ref(id);
    }
  }
  hid_t id_ = H5I_INVALID_HID;
};

/// Throws IoError("<context> failed") when an HDF5 status is negative.
inline void h5check(herr_t status, const std::string& context) {
  if (status < 0) throw IoError(context + " failed");
}

/// Silences HDF5's automatic error stack printing for the process (errors are
/// reported by fedhpc's own messages instead).
void silence_hdf5_errors() noexcept;

}  // namespace fedhpc::io
