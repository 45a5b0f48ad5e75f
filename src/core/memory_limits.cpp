#include "fedhpc/core/memory_limits.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/process_memory.hpp"

namespace fedhpc {
namespace {

/// The first number in a file ("max" and unreadable files: nullopt).
std::optional<std::uint64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  std::uint64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

/// The value of `field` (in kB) in a /proc file like /proc/meminfo, in bytes.
std::optional<std::uint64_t> read_kib_field(const char* path, const std::string& field) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() && line[field.size()] == ':') {
      std::istringstream s(line.substr(field.size() + 1));
      std::uint64_t kib = 0;
      if (s >> kib) return kib * 1024;
    }
  }
  return std::nullopt;
}

/// The tightest memory cgroup limit on this process's cgroup path, as limit -
/// usage of that cgroup. Cgroup v2 ("0::<path>", memory.max/memory.current)
/// and v1 ("<n>:memory:<path>", memory.limit_in_bytes/memory.usage_in_bytes);
/// in a container the path may not exist under the mount: then its ancestors
/// that do are used.
std::optional<MemoryLimit> cgroup_free() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  std::optional<MemoryLimit> best;
  while (std::getline(in, line)) {
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    std::string root, limit_file, usage_file;
    if (line.compare(0, a, "0") == 0 && controllers.empty()) {
      root = "/sys/fs/cgroup";
      limit_file = "memory.max";
      usage_file = "memory.current";
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      root = "/sys/fs/cgroup/memory";
      limit_file = "memory.limit_in_bytes";
      usage_file = "memory.usage_in_bytes";
    } else {
      continue;
    }
    for (;;) {
      const std::string dir = root + (path == "/" ? "" : path);
      const auto limit = read_number(dir + "/" + limit_file);
      const auto usage = read_number(dir + "/" + usage_file);
      // v1 reports "no limit" as a number near 2^63.
      if (limit && usage && *limit < (std::uint64_t{1} << 60)) {
        const std::uint64_t free = *limit > *usage ? *limit - *usage : 0;
        if (!best || free < best->bytes) best = MemoryLimit{free, "the memory cgroup " + dir + " (" + limit_file + ")"};
      }
      if (path.empty() || path == "/") break;
      const auto slash = path.find_last_of('/');
      path = slash == 0 ? "/" : path.substr(0, slash);
    }
  }
  return best;
}

}  // namespace

std::optional<MemoryLimit> node_memory_free() {
  std::optional<MemoryLimit> best;
  if (const auto avail = read_kib_field("/proc/meminfo", "MemAvailable"))
    best = MemoryLimit{*avail, "MemAvailable in /proc/meminfo"};
  if (const auto cg = cgroup_free(); cg && (!best || cg->bytes < best->bytes)) best = cg;
  return best;
}

std::optional<MemoryLimit> address_space_free() {
  rlimit r{};
  if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return std::nullopt;
  const std::uint64_t used = read_kib_field("/proc/self/status", "VmSize").value_or(0);
  const std::uint64_t limit = r.rlim_cur;
  return MemoryLimit{limit > used ? limit - used : 0, "the address-space limit (ulimit -v)"};
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000.0 && u < 4) {
    b /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", b, units[u]);
  return buf;
}

std::string out_of_memory_message(const std::string& during) {
  return "out of memory " + during + "; this rank's resident memory is " +
         format_bytes(static_cast<double>(current_rss_bytes())) + " (peak " +
         format_bytes(static_cast<double>(peak_rss_bytes())) + "): see docs/cluster.md, 'Memory'";
}

void throw_out_of_memory(const std::string& what, std::uint64_t bytes) {
  throw OutOfMemoryError(out_of_memory_message("allocating " + what + " (" + format_bytes(static_cast<double>(bytes)) + ")"));
}

}  // namespace fedhpc
