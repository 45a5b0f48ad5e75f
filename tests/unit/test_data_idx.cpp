// IDX reader: round trips through gzip and plain files, and every malformed
// input is a ConfigError naming the file.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fedhpc/core/error.hpp"
#include "fedhpc/data/idx_reader.hpp"

using namespace fedhpc;
namespace fs = std::filesystem;

namespace {

/// IDX bytes: header (magic, big-endian dims) followed by `data`.
std::vector<std::uint8_t> idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                                    const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out;
  const auto be32 = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
  };
  be32(magic);
  for (const auto d : dims) be32(d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void write_gz(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

void write_raw(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::uint8_t> read_raw(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return v;
}

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fedhpc_idx_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Runs f, expects a ConfigError on data.path whose message names `file`
  /// and contains `fragment`.
  template <class F>
  void expect_error(F&& f, const fs::path& file, const std::string& fragment) {
    try {
      f();
      ADD_FAILURE() << "no ConfigError for " << file;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key(), "data.path");
      const std::string what = e.what();
      EXPECT_NE(what.find(file.string()), std::string::npos) << what;
      EXPECT_NE(what.find(fragment), std::string::npos) << what;
    }
  }

  fs::path dir_;
};

}  // namespace

TEST_F(IdxTest, ImagesAndLabelsRoundTripGzipAndPlain) {
  const auto pixels = pattern(5 * 3 * 4);
  const std::vector<std::uint8_t> labels = {3, 0, 9, 1, 1};
  write_gz(dir_ / "img.gz", idx_bytes(data::kIdxImagesMagic, {5, 3, 4}, pixels));
  write_gz(dir_ / "lab.gz", idx_bytes(data::kIdxLabelsMagic, {5}, labels));
  write_raw(dir_ / "img", idx_bytes(data::kIdxImagesMagic, {5, 3, 4}, pixels));

  for (const char* name : {"img.gz", "img"}) {
    const auto img = data::read_idx_images((dir_ / name).string());
    EXPECT_EQ(img.n, 5);
    EXPECT_EQ(img.rows, 3);
    EXPECT_EQ(img.cols, 4);
    EXPECT_EQ(img.pixels, pixels);
  }
  const auto y = data::read_idx_labels((dir_ / "lab.gz").string(), 10);
  EXPECT_EQ(y, (std::vector<std::int32_t>{3, 0, 9, 1, 1}));
}

TEST_F(IdxTest, StreamingReadsInPieces) {
  const auto pixels = pattern(7 * 2 * 2);
  write_gz(dir_ / "img.gz", idx_bytes(data::kIdxImagesMagic, {7, 2, 2}, pixels));
  data::IdxReader r((dir_ / "img.gz").string(), data::kIdxImagesMagic);
  EXPECT_EQ(r.items(), 7);
  EXPECT_EQ(r.item_bytes(), 4);
  std::vector<std::uint8_t> got(pixels.size());
  r.read(std::span(got.data(), 12));
  EXPECT_EQ(r.items_left(), 4);
  r.read(std::span(got.data() + 12, 16));
  r.expect_end();
  EXPECT_EQ(got, pixels);
}

TEST_F(IdxTest, MissingFile) {
  const fs::path f = dir_ / "nope-idx1-ubyte.gz";
  expect_error([&] { data::read_idx_labels(f.string(), 10); }, f, "not found");
}

TEST_F(IdxTest, NotGzipNorIdx) {
  const fs::path f = dir_ / "text.gz";
  write_raw(f, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'});
  expect_error([&] { data::read_idx_labels(f.string(), 10); }, f,
               "not a gzip-compressed or plain IDX");
}

TEST_F(IdxTest, CorruptGzipStream) {
  const fs::path good = dir_ / "good.gz", bad = dir_ / "bad.gz";
  write_gz(good, idx_bytes(data::kIdxImagesMagic, {50, 8, 8}, pattern(50 * 64)));
  auto bytes = read_raw(good);
  for (std::size_t i = 12; i < bytes.size() - 8; ++i) bytes[i] ^= 0x5A;  // keep the gzip header
  write_raw(bad, bytes);
  try {
    data::read_idx_images(bad.string());
    ADD_FAILURE() << "corrupt gzip accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
  }
}

TEST_F(IdxTest, TruncatedPayload) {
  const fs::path f = dir_ / "short.gz";
  write_gz(f, idx_bytes(data::kIdxImagesMagic, {10, 4, 4}, pattern(9 * 16 + 3)));
  expect_error([&] { data::read_idx_images(f.string()); }, f, "truncated");
}

// Found by tests/fuzz/fuzz_idx: the reader allocated what the header declared
// before reading (2 GB for 16 bytes; 2^62 bytes, std::bad_alloc, for images).
TEST_F(IdxTest, HeaderDeclaringMoreThanTheFileHoldsIsTruncatedNotAllocated) {
  const fs::path lab = dir_ / "lab", img = dir_ / "img";
  write_raw(lab, idx_bytes(data::kIdxLabelsMagic, {0x7ffffffc}, {1, 2, 3}));
  write_raw(img, idx_bytes(data::kIdxImagesMagic, {0x7fffffff, 1u << 15, 1u << 15}, pattern(100)));
  expect_error([&] { data::read_idx_labels(lab.string(), 10); }, lab, "truncated");
  expect_error([&] { data::read_idx_images(img.string()); }, img, "truncated");
}

TEST_F(IdxTest, TruncatedCompressedFile) {
  const fs::path good = dir_ / "good.gz", cut = dir_ / "cut.gz";
  write_gz(good, idx_bytes(data::kIdxImagesMagic, {200, 8, 8}, pattern(200 * 64)));
  auto bytes = read_raw(good);
  bytes.resize(bytes.size() / 2);
  write_raw(cut, bytes);
  expect_error([&] { data::read_idx_images(cut.string()); }, cut, "truncated");
}

TEST_F(IdxTest, TruncatedHeader) {
  const fs::path f = dir_ / "hdr.gz";
  write_gz(f, {0, 0, 8, 3, 0, 0});
  expect_error([&] { data::read_idx_images(f.string()); }, f, "truncated IDX header");
}

TEST_F(IdxTest, BadMagic) {
  const fs::path f = dir_ / "labels-as-images.gz";
  write_gz(f, idx_bytes(data::kIdxLabelsMagic, {3}, {1, 2, 3}));
  expect_error([&] { data::read_idx_images(f.string()); }, f, "bad magic 0x00000801");
}

TEST_F(IdxTest, TrailingData) {
  const fs::path f = dir_ / "long.gz";
  write_gz(f, idx_bytes(data::kIdxLabelsMagic, {3}, {1, 2, 3, 4}));
  expect_error([&] { data::read_idx_labels(f.string(), 10); }, f, "trailing data");
}

TEST_F(IdxTest, LabelOutOfRange) {
  const fs::path f = dir_ / "lab.gz";
  write_gz(f, idx_bytes(data::kIdxLabelsMagic, {3}, {1, 10, 3}));
  expect_error([&] { data::read_idx_labels(f.string(), 10); }, f, "label 10 of item 1");
}

TEST_F(IdxTest, ZeroItems) {
  const fs::path f = dir_ / "empty.gz";
  write_gz(f, idx_bytes(data::kIdxLabelsMagic, {0}, {}));
  expect_error([&] { data::read_idx_labels(f.string(), 10); }, f, "0 items");
}
