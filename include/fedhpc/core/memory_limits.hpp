#pragma once
/// How much memory this process may still allocate (Linux): the node's
/// available memory, the memory cgroup's remaining limit (Slurm's --mem, v1 or
/// v2), and the address-space limit (ulimit -v). docs/cluster.md, "Memory".
#include <cstdint>
#include <new>
#include <optional>
#include <string>

namespace fedhpc {

/// A limit on further allocation and where it comes from.
struct MemoryLimit {
  std::uint64_t bytes = 0;  ///< still allocatable under this limit
  std::string source;       ///< e.g. "MemAvailable in /proc/meminfo"
};

/// Memory the ranks of this node may still allocate together: the smaller of
/// MemAvailable and the memory cgroup's limit minus its usage (the tightest
/// limit on the cgroup's path). nullopt if neither can be read.
std::optional<MemoryLimit> node_memory_free();

/// Address space this process may still map under RLIMIT_AS (limit minus
/// VmSize); nullopt when unlimited.
std::optional<MemoryLimit> address_space_free();

/// "1.5 GB", "812.0 MB" (decimal units, one decimal).
std::string format_bytes(double bytes);

/// "out of memory <during>; this rank's resident memory is ... (peak ...): see
/// docs/cluster.md, 'Memory'".
std::string out_of_memory_message(const std::string& during);

/// OutOfMemoryError(out_of_memory_message("allocating <what> (<bytes>)")),
/// for a std::bad_alloc at a known site.
[[noreturn]] void throw_out_of_memory(const std::string& what, std::uint64_t bytes);

/// Runs f(); a std::bad_alloc from it becomes throw_out_of_memory(what, bytes).
template <class F>
decltype(auto) allocating(const std::string& what, std::uint64_t bytes, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    throw_out_of_memory(what, bytes);
  }
}

}  // namespace fedhpc
