// Writes the seed corpus: small valid files for the harnesses fed file bytes
// (config, idx, hdf5) and a few byte strings for the structure-aware ones
// (bytes: fuzz_hdf5_dataset and fuzz_checkpoint decode any input into the
// file they write; these start them off with inputs long enough to fill
// every field).
//   make_seeds OUT_DIR SOURCE_DIR
// OUT_DIR is replaced by {config,idx,hdf5,bytes}/.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/io/h5_handle.hpp"

namespace fs = std::filesystem;
using namespace fedhpc;
using io::H5Handle;

namespace {

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw IoError("cannot write " + path.string());
}

/// IDX file bytes: magic 0x000008nn (unsigned bytes, nn dimensions), big-endian dims, data.
std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data) {
  std::string s = {0, 0, 8, static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((d >> shift) & 0xff));
  s.append(data.begin(), data.end());
  return s;
}

void write_gzip(const fs::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  if (!f) throw IoError("cannot write " + path.string());
  const int put = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  if (gzclose(f) != Z_OK || put != static_cast<int>(bytes.size()))
    throw IoError("cannot write " + path.string());
}

void write_idx(const fs::path& dir) {
  std::vector<std::uint8_t> pixels(3 * 4 * 5);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(17 * i);
  const std::string images = idx_bytes({3, 4, 5}, pixels);
  const std::string labels = idx_bytes({3}, {0, 9, 4});
  write_file(dir / "images.idx", images);
  write_file(dir / "labels.idx", labels);
  write_gzip(dir / "images.idx.gz", images);
  write_gzip(dir / "labels.idx.gz", labels);
}

void write_configs(const fs::path& dir, const fs::path& source) {
  fs::copy_file(source / "configs/default.ini", dir / "default.ini", fs::copy_options::overwrite_existing);
  fs::copy_file(source / "configs/uplink_topk.ini", dir / "uplink_topk.ini",
                fs::copy_options::overwrite_existing);
  // INI text, then NUL-separated command-line arguments (see fuzz_config.cpp).
  const std::string ini = "[data]\nsource = synthetic\nnum_clients = 20\n[server]\nrounds = 3\n";
  std::string bytes = ini;
  for (const char* arg : {"--server.clients_per_round", "5", "--check"}) bytes += '\0' + std::string(arg);
  write_file(dir / "ini_and_args", bytes);
}

template <class T>
hid_t h5_native();
template <>
hid_t h5_native<float>() { return H5T_NATIVE_FLOAT; }
template <>
hid_t h5_native<std::uint8_t>() { return H5T_NATIVE_UINT8; }
template <>
hid_t h5_native<std::int32_t>() { return H5T_NATIVE_INT32; }
template <>
hid_t h5_native<std::int64_t>() { return H5T_NATIVE_INT64; }

template <class T>
void put(hid_t file, const std::string& name, const std::vector<hsize_t>& dims, const std::vector<T>& v) {
  const H5Handle lcpl(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  io::h5check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  const H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple");
  const H5Handle d(H5Dcreate2(file, name.c_str(), h5_native<T>(), space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
                   "H5Dcreate2 " + name);
  io::h5check(H5Dwrite(d, h5_native<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dwrite " + name);
}

template <class T>
std::vector<T> ramp(std::size_t n) {
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<T>(i % 251);
  return v;
}

H5Handle create_h5(const fs::path& path) {
  return H5Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate " + path.string());
}

void write_hdf5(const fs::path& dir) {
  {  // flat: uint8 images (n, h, w), int32 labels
    const H5Handle f = create_h5(dir / "flat.h5");
    put<std::uint8_t>(f, "/train/x", {6, 4, 5}, ramp<std::uint8_t>(6 * 20));
    put<std::int32_t>(f, "/train/y", {6}, {0, 1, 2, 0, 1, 2});
    put<std::uint8_t>(f, "/test/x", {2, 4, 5}, ramp<std::uint8_t>(2 * 20));
    put<std::int32_t>(f, "/test/y", {2}, {1, 2});
  }
  {  // natural: one group per client, float rows (n, d), int64 labels, declared num_classes
    const H5Handle f = create_h5(dir / "natural.h5");
    put<float>(f, "/clients/a/x", {3, 6}, ramp<float>(18));
    put<std::int64_t>(f, "/clients/a/y", {3}, {0, 1, 0});
    put<float>(f, "/clients/b/x", {2, 6}, ramp<float>(12));
    put<std::int64_t>(f, "/clients/b/y", {2}, {3, 3});
    put<float>(f, "/test/x", {2, 6}, ramp<float>(12));
    put<std::int64_t>(f, "/test/y", {2}, {2, 1});
    const H5Handle space(H5Screate(H5S_SCALAR), "H5Screate");
    const H5Handle a(H5Acreate2(f, "num_classes", H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
    const std::int64_t classes = 5;
    io::h5check(H5Awrite(a, H5T_NATIVE_INT64, &classes), "H5Awrite num_classes");
  }
}

void write_byte_strings(const fs::path& dir) {
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;  // xorshift64: fixed bytes, no meaning
  for (const std::size_t n : {64, 256, 1024}) {
    std::string bytes(n, '\0');
    for (char& c : bytes) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x & 0xff);
    }
    write_file(dir / ("bytes_" + std::to_string(n)), bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR SOURCE_DIR\n");
    return kExitUsage;
  }
  try {
    const fs::path out = argv[1];
    fs::remove_all(out);  // exactly these seeds, whatever an earlier version wrote
    for (const char* sub : {"config", "idx", "hdf5", "bytes"}) fs::create_directories(out / sub);
    write_configs(out / "config", argv[2]);
    write_idx(out / "idx");
    write_hdf5(out / "hdf5");
    write_byte_strings(out / "bytes");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return kExitRuntime;
  }
  return kExitOk;
}
