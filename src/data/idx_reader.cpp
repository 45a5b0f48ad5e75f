#include "fedhpc/data/idx_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>

#include "fedhpc/core/error.hpp"

namespace fedhpc::data {
namespace {

/// Largest single gzread request (its length is an unsigned, its result an int).
constexpr std::size_t kMaxGzRead = std::size_t{1} << 30;

/// Bytes read_rest() adds to its buffer per step: the buffer grows with the
/// data actually read, so a header that declares more than the file holds
/// (up to 2^62 bytes in 16) ends as "truncated", not as a huge allocation.
constexpr std::int64_t kReadStepBytes = std::int64_t{16} << 20;

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

std::string hex8(std::uint8_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02X", v);
  return buf;
}

const char* describe(std::uint32_t magic) {
  switch (magic) {
    case kIdxImagesMagic: return "IDX3 unsigned-byte images";
    case kIdxLabelsMagic: return "IDX1 unsigned-byte labels";
    default: return "IDX unsigned-byte data";
  }
}

}  // namespace

IdxReader::IdxReader(std::string path, std::uint32_t expected_magic) : path_(std::move(path)) {
  std::error_code ec;
  const auto status = std::filesystem::status(path_, ec);
  if (!std::filesystem::exists(status)) fail("file not found");
  if (std::filesystem::is_directory(status)) fail("is a directory, expected an IDX file");
  errno = 0;
  gz_.reset(gzopen(path_.c_str(), "rb"));
  if (!gz_)
    fail(std::string("cannot open: ") + (errno != 0 ? std::strerror(errno) : "out of memory"));
  gzbuffer(gz_.get(), 1u << 17);

  std::uint8_t head[4];
  const int got = gzread(gz_.get(), head, sizeof head);
  if (got < 0) fail("not a valid gzip stream (" + zlib_detail() + ")");
  if (got < 4)
    fail("too short for an IDX header (" + std::to_string(got) + " bytes, expected a " +
         describe(expected_magic) + " file)");
  if (head[0] != 0 || head[1] != 0)
    fail("not a gzip-compressed or plain IDX file (first bytes " + hex8(head[0]) + " " +
         hex8(head[1]) + ", expected 00 00)");
  const std::uint32_t magic = (std::uint32_t{head[2]} << 8) | head[3];
  if (magic != expected_magic)
    fail("bad magic " + hex32(magic) + ", expected " + hex32(expected_magic) + " (" +
         describe(expected_magic) + ")");

  const int ndims = head[3];
  std::vector<std::uint8_t> raw(static_cast<std::size_t>(4 * ndims));
  const int got_dims = gzread(gz_.get(), raw.data(), static_cast<unsigned>(raw.size()));
  if (got_dims < 0) fail("corrupt gzip stream in the IDX header (" + zlib_detail() + ")");
  if (got_dims < static_cast<int>(raw.size()))
    fail("truncated IDX header (expected " + std::to_string(ndims) + " dimensions)");
  dims_.resize(static_cast<std::size_t>(ndims));
  for (int d = 0; d < ndims; ++d) {
    const std::uint8_t* b = raw.data() + 4 * d;
    dims_[static_cast<std::size_t>(d)] = (std::int64_t{b[0]} << 24) | (std::int64_t{b[1]} << 16) |
                                         (std::int64_t{b[2]} << 8) | std::int64_t{b[3]};
  }
  items_ = dims_[0];
  if (items_ == 0) fail("header declares 0 items");
  if (items_ > std::numeric_limits<std::int32_t>::max())
    fail("header declares " + std::to_string(items_) + " items; at most 2147483647 are supported");
  for (int d = 1; d < ndims; ++d) {
    const std::int64_t extent = dims_[static_cast<std::size_t>(d)];
    if (extent == 0) fail("header declares a zero extent in dimension " + std::to_string(d));
    item_bytes_ *= extent;
    if (item_bytes_ > std::numeric_limits<std::int32_t>::max())
      fail("header declares items of more than 2^31 bytes");
  }
}

void IdxReader::GzClose::operator()(gzFile_s* f) const noexcept { gzclose(f); }

void IdxReader::read(std::span<std::uint8_t> out) {
  expects(out.size() % static_cast<std::size_t>(item_bytes_) == 0,
          "IdxReader::read: buffer is not a whole number of items");
  const auto count = static_cast<std::int64_t>(out.size()) / item_bytes_;
  expects(count <= items_left(), "IdxReader::read: more items requested than the file declares");
  read_bytes(out, 0);
  next_ += count;
}

std::vector<std::uint8_t> IdxReader::read_rest() {
  const std::int64_t total = items_left() * item_bytes_;  // < 2^62: both factors < 2^31
  std::vector<std::uint8_t> out;
  for (std::int64_t done = 0; done < total;) {
    const std::int64_t n = std::min(total - done, kReadStepBytes);
    out.resize(static_cast<std::size_t>(done + n));
    read_bytes(std::span(out).subspan(static_cast<std::size_t>(done)), done);
    done += n;
  }
  next_ = items_;
  return out;
}

void IdxReader::read_bytes(std::span<std::uint8_t> out, std::int64_t offset) {
  const auto item_at = [&](std::size_t done) {
    return std::to_string(next_ + (offset + static_cast<std::int64_t>(done)) / item_bytes_);
  };
  std::size_t done = 0;
  while (done < out.size()) {
    const std::size_t want = std::min(out.size() - done, kMaxGzRead);
    const int got = gzread(gz_.get(), out.data() + done, static_cast<unsigned>(want));
    if (got < 0) fail("corrupt data after item " + item_at(done) + " (" + zlib_detail() + ")");
    done += static_cast<std::size_t>(got);
    if (static_cast<std::size_t>(got) < want) {
      const std::string detail = zlib_detail();
      fail("truncated: header declares " + std::to_string(items_) + " items of " +
           std::to_string(item_bytes_) + " bytes, file ends inside item " + item_at(done) +
           (detail.empty() ? "" : " (" + detail + ")"));
    }
  }
}

void IdxReader::expect_end() {
  expects(items_left() == 0, "IdxReader::expect_end: items left unread");
  std::uint8_t extra;
  const int got = gzread(gz_.get(), &extra, 1);  // also makes zlib verify the gzip trailer
  if (got < 0) fail("corrupt data at the end of the file (" + zlib_detail() + ")");
  if (got > 0)
    fail("trailing data after the " + std::to_string(items_) + " items the header declares");
}

void IdxReader::fail(const std::string& what) const {
  throw ConfigError("data.path", path_ + ": " + what);
}

std::string IdxReader::zlib_detail() const {
  int errnum = Z_OK;
  const char* msg = gzerror(gz_.get(), &errnum);
  if (errnum == Z_OK) return {};
  if (errnum == Z_ERRNO) return std::strerror(errno);
  return std::string("zlib: ") + msg;
}

IdxImages read_idx_images(const std::string& path) {
  IdxReader reader(path, kIdxImagesMagic);
  IdxImages img;
  img.n = reader.items();
  img.rows = static_cast<int>(reader.dims()[1]);
  img.cols = static_cast<int>(reader.dims()[2]);
  img.pixels = reader.read_rest();
  reader.expect_end();
  return img;
}

std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes) {
  IdxReader reader(path, kIdxLabelsMagic);
  const std::vector<std::uint8_t> raw = reader.read_rest();
  reader.expect_end();
  std::vector<std::int32_t> labels(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] >= num_classes)
      throw ConfigError("data.path", path + ": label " + std::to_string(raw[i]) + " of item " +
                                         std::to_string(i) + " is out of range (expected < " +
                                         std::to_string(num_classes) + ")");
    labels[i] = raw[i];
  }
  return labels;
}

}  // namespace fedhpc::data
