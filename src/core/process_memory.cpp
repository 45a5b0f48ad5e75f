#include "fedhpc/core/process_memory.hpp"

#include <cstdio>
#include <cstring>

namespace fedhpc {
namespace {
std::uint64_t read_status_kib(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  std::uint64_t kib = 0;
  const std::size_t len = std::strlen(field);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
      std::sscanf(line + len + 1, "%lu", &kib);
      break;
    }
  }
  std::fclose(f);
  return kib * 1024;
}
}  // namespace

std::uint64_t peak_rss_bytes() { return read_status_kib("VmHWM"); }
std::uint64_t current_rss_bytes() { return read_status_kib("VmRSS"); }

}  // namespace fedhpc
