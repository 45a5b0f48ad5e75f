#pragma once
/// Reader of IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or
/// plain: zlib's gzread passes uncompressed files through unchanged. Only
/// unsigned-byte element type (0x08) is supported. Every malformed input
/// throws ConfigError("data.path", "<file>: <what was expected>").
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct gzFile_s;  // zlib's gzFile, kept opaque so zlib.h stays out of this header

namespace fedhpc::data {

/// Magic number of an IDX file of unsigned-byte images (n, rows, cols).
inline constexpr std::uint32_t kIdxImagesMagic = 0x00000803;
/// Magic number of an IDX file of unsigned-byte labels (n).
inline constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;

/// Streaming reader: parses the header on construction, then hands out items
/// (one item = one entry along the first dimension) in file order.
class IdxReader {
 public:
  /// Opens `path` and checks that its header has the magic `expected_magic`.
  IdxReader(std::string path, std::uint32_t expected_magic);

  /// Dimensions from the header; dims()[0] is the item count.
  std::span<const std::int64_t> dims() const { return dims_; }
  /// Number of items (the first dimension).
  std::int64_t items() const { return dims_[0]; }
  /// Bytes per item (product of the remaining dimensions).
  std::int64_t item_bytes() const { return item_bytes_; }
  /// Items not yet read.
  std::int64_t items_left() const { return items_ - next_; }
  /// The file name used in error messages.
  const std::string& path() const { return path_; }

  /// Reads the next out.size() / item_bytes() items; throws if the file ends early.
  void read(std::span<std::uint8_t> out);
  /// Reads every item left. The buffer grows with the bytes read, never to
  /// the header's size before the file shows it has them.
  std::vector<std::uint8_t> read_rest();
  /// Checks that every item was read and no byte follows the last one.
  void expect_end();

 private:
  /// Reads out.size() bytes starting `offset` bytes past item next_ (for messages).
  void read_bytes(std::span<std::uint8_t> out, std::int64_t offset);
  [[noreturn]] void fail(const std::string& what) const;
  std::string zlib_detail() const;

  /// Closes the gzFile (also when the constructor throws after gzopen).
  struct GzClose {
    void operator()(gzFile_s* f) const noexcept;
  };

  std::string path_;
  std::unique_ptr<gzFile_s, GzClose> gz_;
  std::vector<std::int64_t> dims_;
  std::int64_t item_bytes_ = 1;
  std::int64_t items_ = 0;
  std::int64_t next_ = 0;
};

/// Unsigned-byte images read whole: pixels row-major (n, rows, cols).
struct IdxImages {
  std::int64_t n = 0;
  int rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;
};

/// Reads a whole IDX3 image file (magic 0x00000803).
IdxImages read_idx_images(const std::string& path);

/// Reads a whole IDX1 label file (magic 0x00000801); every label must be < num_classes.
std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes);

}  // namespace fedhpc::data
