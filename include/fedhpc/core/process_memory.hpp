#pragma once
/// Resident memory of this process (Linux /proc), for reports and benchmarks.
#include <cstdint>

namespace fedhpc {

/// Peak resident set size (VmHWM) in bytes; 0 if unavailable.
std::uint64_t peak_rss_bytes();
/// Current resident set size (VmRSS) in bytes; 0 if unavailable.
std::uint64_t current_rss_bytes();

}  // namespace fedhpc
