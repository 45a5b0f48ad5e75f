#include "fedhpc/io/h5_reader.hpp"

#include "fedhpc/io/results_file.hpp"

namespace fedhpc::io {

H5Reader::H5Reader(const std::string& path) : path_(path) {
  silence_hdf5_errors();
  file_ = H5Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path + ": H5Fopen");
}

bool H5Reader::has(const std::string& object) const {
  return H5Lexists(file_, object.c_str(), H5P_DEFAULT) > 0;
}

H5Handle H5Reader::open_attribute(const std::string& object, const std::string& name) const {
  return H5Handle(H5Aopen_by_name(file_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                  path_ + ": attribute " + object + "@" + name);
}

std::string H5Reader::string_attribute(const std::string& object, const std::string& name) const {
  H5Handle a = open_attribute(object, name);
  H5Handle type(H5Aget_type(a), path_ + ": H5Aget_type " + name);
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) <= 0)
    throw IoError(path_ + ": attribute " + name + " is not a variable-length string");
  H5Handle mem(H5Tcopy(H5T_C_S1), "H5Tcopy");
  h5check(H5Tset_size(mem, H5T_VARIABLE), "H5Tset_size");
  h5check(H5Tset_cset(mem, H5Tget_cset(type)), "H5Tset_cset");
  char* p = nullptr;
  h5check(H5Aread(a, mem, &p), path_ + ": H5Aread " + name);
  std::string out = p ? p : "";
  H5free_memory(p);
  return out;
}

std::int64_t H5Reader::int_attribute(const std::string& object, const std::string& name) const {
  H5Handle a = open_attribute(object, name);
  std::int64_t v = 0;
  h5check(H5Aread(a, H5T_NATIVE_INT64, &v), path_ + ": H5Aread " + name);
  return v;
}

double H5Reader::double_attribute(const std::string& object, const std::string& name) const {
  H5Handle a = open_attribute(object, name);
  double v = 0;
  h5check(H5Aread(a, H5T_NATIVE_DOUBLE, &v), path_ + ": H5Aread " + name);
  return v;
}

template <class T>
std::vector<T> H5Reader::read(const std::string& dataset) const {
  H5Handle d(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), path_ + ": H5Dopen " + dataset);
  H5Handle space(H5Dget_space(d), path_ + ": H5Dget_space " + dataset);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n < 0) throw IoError(path_ + ": cannot size " + dataset);
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n > 0)
    h5check(H5Dread(d, h5_type<T>::get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
            path_ + ": H5Dread " + dataset);
  return out;
}

template <class T>
void H5Reader::read_range(const std::string& dataset, std::int64_t first, std::span<T> out) const {
  if (out.empty()) return;
  H5Handle d(H5Dopen2(file_, dataset.c_str(), H5P_DEFAULT), path_ + ": H5Dopen " + dataset);
  H5Handle space(H5Dget_space(d), path_ + ": H5Dget_space " + dataset);
  const hsize_t start = static_cast<hsize_t>(first), count = out.size();
  h5check(H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nullptr, &count, nullptr),
          path_ + ": selecting part of " + dataset);
  H5Handle mem(H5Screate_simple(1, &count, nullptr), "H5Screate_simple");
  h5check(H5Dread(d, h5_type<T>::get(), mem, space, H5P_DEFAULT, out.data()),
          path_ + ": H5Dread " + dataset);
}

template void H5Reader::read_range<std::uint8_t>(const std::string&, std::int64_t, std::span<std::uint8_t>) const;
template std::vector<float> H5Reader::read<float>(const std::string&) const;
template std::vector<double> H5Reader::read<double>(const std::string&) const;
template std::vector<std::int64_t> H5Reader::read<std::int64_t>(const std::string&) const;

}  // namespace fedhpc::io
