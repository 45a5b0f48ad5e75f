// libFuzzer harness: the IDX reader (read_idx_images, read_idx_labels) on
// arbitrary bytes, plain or gzip. Documented outcome for a bad file:
// ConfigError naming data.path. Anything else (another exception, a crash, a
// sanitizer report, a huge allocation, a hang) is a finding.
#include <cstddef>
#include <cstdint>

#include "fedhpc/core/error.hpp"
#include "fedhpc/data/idx_reader.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fedhpc::fuzz::ScratchDir dir;
  const std::string path = dir.file("input.idx");
  fedhpc::fuzz::write_bytes(path, data, size);
  try {
    const fedhpc::data::IdxImages img = fedhpc::data::read_idx_images(path);
    if (img.pixels.size() != static_cast<std::size_t>(img.n) * static_cast<std::size_t>(img.rows) *
                                 static_cast<std::size_t>(img.cols))
      __builtin_trap();  // the header and the pixels disagree
  } catch (const fedhpc::ConfigError&) {
  }
  try {
    (void)fedhpc::data::read_idx_labels(path, 10);
  } catch (const fedhpc::ConfigError&) {
  }
  return 0;
}
