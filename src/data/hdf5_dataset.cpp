#include "fedhpc/data/hdf5_dataset.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <optional>

#include "fedhpc/core/error.hpp"
#include "fedhpc/io/h5_handle.hpp"

namespace fedhpc::data {
namespace {

/// Bytes of x read per HDF5 call when gathering scattered rows (flat layout).
constexpr std::int64_t kBlockBytes = std::int64_t{8} << 20;

/// Largest stored element accepted in x and y (64-bit integers and floats).
constexpr std::size_t kMaxElementBytes = 8;

std::size_t sz(std::int64_t v) { return static_cast<std::size_t>(v); }

/// Element type of an x dataset as stored in the file.
enum class XType { kFloat, kUint8 };

/// An open x dataset: (rows, example dims...).
struct XData {
  std::string name;
  io::H5Handle dset;
  std::vector<hsize_t> dims;
  XType type = XType::kFloat;
  std::int64_t rows() const { return static_cast<std::int64_t>(dims[0]); }
  /// Example dims (everything after the row dimension).
  std::vector<hsize_t> example_dims() const { return {dims.begin() + 1, dims.end()}; }
  std::int64_t row_size() const {
    std::int64_t n = 1;
    for (std::size_t i = 1; i < dims.size(); ++i) n *= static_cast<std::int64_t>(dims[i]);
    return n;
  }
};

std::string dims_string(const std::vector<hsize_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + ")";
}

/// Readable name of an HDF5 datatype ("int16", "float64", "string", ...).
std::string type_name(hid_t type) {
  const std::string bits = std::to_string(8 * H5Tget_size(type));
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + bits;
    case H5T_FLOAT: return "float" + bits;
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    default: return "non-numeric type";
  }
}

/// Exact x / 255 for every byte value.
const std::array<float, 256>& unit_table() {
  static const std::array<float, 256> t = [] {
    std::array<float, 256> v{};
    for (int i = 0; i < 256; ++i) v[sz(i)] = static_cast<float>(i) / 255.0f;
    return v;
  }();
  return t;
}

/// The file opened read-only, with checks that throw ConfigError naming it.
class H5File {
 public:
  explicit H5File(std::string path) : path_(std::move(path)) {
    io::silence_hdf5_errors();
    std::error_code ec;
    const auto status = std::filesystem::status(path_, ec);
    if (!std::filesystem::exists(status)) fail("file not found");
    if (std::filesystem::is_directory(status)) fail("is a directory, expected an HDF5 file");
    if (H5Fis_hdf5(path_.c_str()) <= 0) fail("not an HDF5 file");
    const hid_t id = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) fail("cannot open the HDF5 file read-only");
    file_ = io::H5Handle(id, "H5Fopen " + path_);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError("data.path", path_ + ": " + what);
  }

  /// True if every link on the absolute path `name` exists.
  bool has(const std::string& name) const {
    for (std::size_t slash = name.find('/', 1);; slash = name.find('/', slash + 1)) {
      const std::string prefix = name.substr(0, slash);
      if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
      if (slash == std::string::npos) return true;
    }
  }

  /// Opens object `name`, which must be a group or a dataset as `want` says.
  io::H5Handle open(const std::string& name, H5I_type_t want) const {
    const char* kind = want == H5I_GROUP ? "group" : "dataset";
    if (name != "/" && !has(name)) fail(std::string("missing ") + kind + " " + name);
    const hid_t id = H5Oopen(file_, name.c_str(), H5P_DEFAULT);
    if (id < 0) fail("cannot open " + name);
    io::H5Handle h(id, "H5Oopen " + name);
    if (H5Iget_type(h) != want) fail(name + " is not a " + kind);
    return h;
  }

  /// Names of the links in group `name`, sorted bytewise.
  std::vector<std::string> children(const std::string& name) const {
    const io::H5Handle g = open(name, H5I_GROUP);
    H5G_info_t info;
    if (H5Gget_info(g, &info) < 0) fail("cannot list " + name);
    std::vector<std::string> out;
    std::vector<char> buf;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      const ssize_t len =
          H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
      if (len < 0) fail("cannot list " + name);
      buf.resize(static_cast<std::size_t>(len) + 1);
      if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf.data(), buf.size(),
                             H5P_DEFAULT) < 0)
        fail("cannot list " + name);
      out.emplace_back(buf.data(), static_cast<std::size_t>(len));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  /// Opens an x dataset and checks its rank and element type.
  XData open_x(const std::string& name) const {
    XData x{name, open(name, H5I_DATASET), {}, XType::kFloat};
    const io::H5Handle space(H5Dget_space(x.dset), "H5Dget_space " + name);
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 2 || rank > 4)
      fail(name + " has rank " + std::to_string(rank) +
           "; expected 2 (n, d), 3 (n, h, w) or 4 (n, c, h, w)");
    x.dims.resize(sz(rank));
    io::h5check(H5Sget_simple_extent_dims(space, x.dims.data(), nullptr),
                "H5Sget_simple_extent_dims " + name);
    const io::H5Handle type(H5Dget_type(x.dset), "H5Dget_type " + name);
    const H5T_class_t cls = H5Tget_class(type);
    // At most 64 bits: HDF5 converts through a buffer of at least one stored
    // element, and a corrupt type can declare gigabytes per element.
    if (cls == H5T_FLOAT && H5Tget_size(type) <= kMaxElementBytes) {
      x.type = XType::kFloat;
    } else if (cls == H5T_INTEGER && H5Tget_size(type) == 1 && H5Tget_sign(type) == H5T_SGN_NONE) {
      x.type = XType::kUint8;
    } else {
      fail(name + " has element type " + type_name(type) + "; expected float32 or uint8");
    }
    std::int64_t row = 1;
    for (std::size_t i = 1; i < x.dims.size(); ++i) {
      if (x.dims[i] == 0 || x.dims[i] > INT_MAX)
        fail(name + " has an empty or oversized example shape " + dims_string(x.example_dims()));
      row *= static_cast<std::int64_t>(x.dims[i]);
      if (row > INT_MAX) fail(name + " has examples of more than 2^31 values");
    }
    return x;
  }

  /// Reads a 1-D integer label dataset; every label in [0, kMaxHdf5Classes).
  std::vector<std::int32_t> read_labels(const std::string& name) const {
    const io::H5Handle dset = open(name, H5I_DATASET);
    const io::H5Handle space(H5Dget_space(dset), "H5Dget_space " + name);
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank != 1) fail(name + " has rank " + std::to_string(rank) + "; expected 1 (n)");
    hsize_t n = 0;
    io::h5check(H5Sget_simple_extent_dims(space, &n, nullptr), "H5Sget_simple_extent_dims " + name);
    const io::H5Handle type(H5Dget_type(dset), "H5Dget_type " + name);
    if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) > kMaxElementBytes)
      fail(name + " has element type " + type_name(type) + "; expected an integer type of at most 64 bits");
    if (n > static_cast<hsize_t>(INT_MAX)) fail(name + " has more than 2^31 - 1 labels");
    // Out-of-range values saturate in HDF5's conversion and are caught below.
    std::vector<std::int32_t> y(n);
    if (n > 0 && H5Dread(dset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, y.data()) < 0)
      fail("reading " + name + " failed (corrupt or truncated file?)");
    for (std::size_t i = 0; i < y.size(); ++i) {
      if (y[i] < 0)
        fail("negative label " + std::to_string(y[i]) + " at row " + std::to_string(i) + " of " +
             name);
      if (y[i] >= kMaxHdf5Classes)
        fail("label " + std::to_string(y[i]) + " at row " + std::to_string(i) + " of " + name +
             " exceeds the supported maximum of " + std::to_string(kMaxHdf5Classes - 1));
    }
    return y;
  }

  /// The integer attribute `name` of the root group, if present.
  std::optional<std::int64_t> root_attribute(const char* name) const {
    const io::H5Handle root = open("/", H5I_GROUP);
    const htri_t exists = H5Aexists(root, name);
    if (exists < 0) fail(std::string("cannot query attribute /") + name);
    if (exists == 0) return std::nullopt;
    const hid_t id = H5Aopen(root, name, H5P_DEFAULT);
    if (id < 0) fail(std::string("cannot open attribute /") + name);
    const io::H5Handle attr(id, std::string("H5Aopen ") + name);
    const io::H5Handle type(H5Aget_type(attr), std::string("H5Aget_type ") + name);
    const io::H5Handle space(H5Aget_space(attr), std::string("H5Aget_space ") + name);
    if (H5Tget_class(type) != H5T_INTEGER || H5Sget_simple_extent_npoints(space) != 1)
      fail(std::string("attribute /") + name + " must be a single integer");
    std::int64_t v = 0;
    if (H5Aread(attr, H5T_NATIVE_INT64, &v) < 0)
      fail(std::string("reading attribute /") + name + " failed");
    return v;
  }

  /// Reads rows [first, first + count) of x into out (count * row_size floats).
  void read_rows(const XData& x, std::int64_t first, std::int64_t count, float* out,
                 std::vector<std::uint8_t>& scratch) const {
    const io::H5Handle fspace(H5Dget_space(x.dset), "H5Dget_space " + x.name);
    std::vector<hsize_t> start(x.dims.size(), 0), extent(x.dims);
    start[0] = static_cast<hsize_t>(first);
    extent[0] = static_cast<hsize_t>(count);
    io::h5check(
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr),
        "H5Sselect_hyperslab " + x.name);
    const auto values = static_cast<hsize_t>(count * x.row_size());
    const io::H5Handle mspace(H5Screate_simple(1, &values, nullptr), "H5Screate_simple " + x.name);
    const bool bytes = x.type == XType::kUint8;
    if (bytes && scratch.size() < values) scratch.resize(values);
    if (H5Dread(x.dset, bytes ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT,
                bytes ? static_cast<void*>(scratch.data()) : static_cast<void*>(out)) < 0)
      fail("reading rows [" + std::to_string(first) + ", " + std::to_string(first + count) +
           ") of " + x.name + " failed (corrupt or truncated file?)");
    if (bytes) {
      const auto& table = unit_table();
      for (hsize_t i = 0; i < values; ++i) out[i] = table[scratch[i]];
    }
  }

  /// Checks that x and y have the same number of rows.
  void check_rows(const XData& x, std::size_t labels, const std::string& y_name) const {
    if (static_cast<std::size_t>(x.rows()) != labels)
      fail(x.name + " has " + std::to_string(x.rows()) + " rows but " + y_name + " has " +
           std::to_string(labels));
  }

  /// Checks that x's examples have the shape of ref's.
  void check_example_dims(const XData& x, const XData& ref) const {
    if (x.example_dims() != ref.example_dims())
      fail(x.name + " has examples of shape " + dims_string(x.example_dims()) + " but " + ref.name +
           " has " + dims_string(ref.example_dims()));
  }

  /// Checks that x still matches what the constructor found.
  void check_unchanged(const XData& x, std::int64_t rows, int row_size) const {
    if (x.rows() != rows || x.row_size() != row_size)
      fail(x.name + " changed since the file was opened");
  }

 private:
  std::string path_;
  io::H5Handle file_;
};

Shape shape_of(const XData& x) {
  const auto d = [&](std::size_t i) { return static_cast<int>(x.dims[i]); };
  switch (x.dims.size()) {
    case 2: return {1, 1, d(1)};
    case 3: return {1, d(1), d(2)};
    default: return {d(1), d(2), d(3)};
  }
}

int max_label(std::span<const std::int32_t> y) {
  return y.empty() ? -1 : *std::max_element(y.begin(), y.end());
}

}  // namespace

Hdf5Dataset::Hdf5Dataset(const DataSection& cfg, std::uint64_t seed) : path_(cfg.path) {
  const H5File f(path_);
  const bool natural = f.has("/clients");
  if (!natural && !f.has("/train"))
    f.fail("found neither /train (flat layout) nor /clients (natural layout)");
  layout_ = natural ? Layout::kNatural : Layout::kFlat;

  const XData test_x = f.open_x("/test/x");
  std::vector<std::int32_t> test_y = f.read_labels("/test/y");
  f.check_rows(test_x, test_y.size(), "/test/y");

  std::vector<std::int32_t> train_y;
  Partition partition;
  Shape shape;
  if (layout_ == Layout::kFlat) {
    const XData x = f.open_x("/train/x");
    train_y = f.read_labels("/train/y");
    f.check_rows(x, train_y.size(), "/train/y");
    f.check_example_dims(test_x, x);
    shape = shape_of(x);
  } else {
    client_names_ = f.children("/clients");
    if (client_names_.empty()) f.fail("/clients holds no client groups");
    if (static_cast<std::size_t>(cfg.num_clients) != client_names_.size())
      throw ConfigError("data.num_clients",
                        path_ + " holds " + std::to_string(client_names_.size()) +
                            " client groups in /clients, but data.num_clients = " +
                            std::to_string(cfg.num_clients));
    partition.offsets.assign(1, 0);
    std::optional<XData> first;
    for (const std::string& name : client_names_) {
      const std::string group = "/clients/" + name;
      f.open(group, H5I_GROUP);
      XData x = f.open_x(group + "/x");
      const std::vector<std::int32_t> y = f.read_labels(group + "/y");
      f.check_rows(x, y.size(), group + "/y");
      if (first) f.check_example_dims(x, *first);
      if (static_cast<std::int64_t>(y.size()) < cfg.min_samples)
        throw ConfigError(
            "data.min_samples",
            path_ + ": client group " + group + " holds " + std::to_string(y.size()) +
                " examples, fewer than data.min_samples = " + std::to_string(cfg.min_samples));
      if (train_y.size() + y.size() > static_cast<std::size_t>(INT_MAX))
        f.fail("/clients holds more than 2^31 - 1 examples");
      train_y.insert(train_y.end(), y.begin(), y.end());
      partition.offsets.push_back(static_cast<std::int64_t>(train_y.size()));
      if (!first) first = std::move(x);
    }
    f.check_example_dims(test_x, *first);
    shape = shape_of(*first);
    partition.indices.resize(train_y.size());
    std::iota(partition.indices.begin(), partition.indices.end(), 0);
  }

  int classes = std::max(max_label(train_y), max_label(test_y)) + 1;
  if (const auto declared = f.root_attribute("num_classes")) {
    if (*declared < classes || *declared > kMaxHdf5Classes)
      f.fail("attribute /num_classes = " + std::to_string(*declared) + " must lie in [" +
             std::to_string(classes) + ", " + std::to_string(kMaxHdf5Classes) +
             "] (the labels go up to " + std::to_string(classes - 1) + ")");
    classes = static_cast<int>(*declared);
  }
  if (classes < 1) f.fail("/train/y and /test/y hold no labels");
  if (layout_ == Layout::kFlat) partition = make_partition(cfg, train_y, classes, seed);
  init(shape, classes, std::move(train_y), std::move(test_y), std::move(partition));
}

void Hdf5Dataset::load_train(std::span<const std::int64_t> dest, std::span<float> x) {
  const H5File f(path_);
  const int d = input_shape().size();
  std::vector<std::uint8_t> scratch;
  if (layout_ == Layout::kNatural) {
    // A client's examples are one whole dataset and one run of rows in x.
    for (int c = 0; c < num_clients(); ++c) {
      const auto ids = partition().client(c);
      if (ids.empty() || dest[sz(ids.front())] < 0) continue;
      const XData cx = f.open_x("/clients/" + client_names_[sz(c)] + "/x");
      f.check_unchanged(cx, static_cast<std::int64_t>(ids.size()), d);
      f.read_rows(cx, 0, cx.rows(), x.data() + sz(dest[sz(ids.front())]) * sz(d), scratch);
    }
    return;
  }
  // Flat: read blocks of rows, each trimmed to its first..last wanted row,
  // and scatter the wanted rows to their destinations.
  const XData tx = f.open_x("/train/x");
  f.check_unchanged(tx, static_cast<std::int64_t>(dest.size()), d);
  const std::int64_t n = tx.rows();
  const std::int64_t block = std::max<std::int64_t>(1, kBlockBytes / (4 * std::int64_t{d}));
  std::vector<float> buf;
  for (std::int64_t r0 = 0; r0 < n; r0 += block) {
    const std::int64_t r1 = std::min(n, r0 + block);
    std::int64_t lo = r0, hi = r1;
    while (lo < r1 && dest[sz(lo)] < 0) ++lo;
    while (hi > lo && dest[sz(hi - 1)] < 0) --hi;
    if (lo == hi) continue;
    if (buf.size() < sz((hi - lo) * d)) buf.resize(sz((hi - lo) * d));
    f.read_rows(tx, lo, hi - lo, buf.data(), scratch);
    for (std::int64_t r = lo; r < hi; ++r) {
      const std::int64_t to = dest[sz(r)];
      if (to >= 0)
        std::memcpy(x.data() + sz(to) * sz(d), buf.data() + sz(r - lo) * sz(d),
                    sz(d) * sizeof(float));
    }
  }
}

void Hdf5Dataset::load_test(std::int64_t begin, std::int64_t end, std::span<float> x) {
  const H5File f(path_);
  const XData tx = f.open_x("/test/x");
  f.check_unchanged(tx, test_size(), input_shape().size());
  std::vector<std::uint8_t> scratch;
  f.read_rows(tx, begin, end - begin, x.data(), scratch);
}

}  // namespace fedhpc::data
