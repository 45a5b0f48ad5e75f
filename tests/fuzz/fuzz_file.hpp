#pragma once
// Shared by the fuzz harnesses: the readers take a path, so each input is
// written to a file in a private temporary directory first.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fedhpc::fuzz {

/// A private directory, removed on destruction: $FEDHPC_FUZZ_SCRATCH if set
/// (run_fuzzer.sh sets "scratch", relative to the directory it runs in, so
/// paths, which reach error messages and the fuzzer's comparison
/// dictionary, are the same in every run), else a new one under $TMPDIR.
class ScratchDir {
 public:
  ScratchDir() {
    if (const char* fixed = std::getenv("FEDHPC_FUZZ_SCRATCH"); fixed && *fixed) {
      path_ = fixed;
      std::error_code ec;
      std::filesystem::create_directories(path_, ec);
      if (ec) {
        std::fprintf(stderr, "cannot create %s: %s\n", fixed, ec.message().c_str());
        std::abort();  // the harness cannot run at all: not an input's fault
      }
      return;
    }
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/fedhpc-fuzz-XXXXXX";
    if (!mkdtemp(templ.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = templ;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  /// Path of `name` inside the directory.
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Replaces file `path` by the bytes [data, data + size).
inline void write_bytes(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::perror(path.c_str());
    std::abort();
  }
}

}  // namespace fedhpc::fuzz
