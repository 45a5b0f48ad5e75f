#pragma once
/// Which instruction-set extensions this build uses, and the start-up check
/// that the CPU has them (docs/cluster.md, "Portable builds"): a binary built
/// with -march=native on a newer login node would otherwise die with SIGILL
/// (Illegal instruction) on an older compute node, somewhere in the run.
#include <cstddef>
#include <string>

namespace fedhpc {

/// The extensions the compiler was allowed to use for fedhpc's code (from its
/// predefined macros under -DFEDHPC_ARCH), in __builtin_cpu_supports names;
/// null-terminated. Constant data: reading it runs no code.
extern const char* const kBuildIsa[];

/// kBuildIsa joined with commas (recorded in /execution).
std::string build_isa();

/// What this CPU supports, by __builtin_cpu_supports name (false for names it does not know).
bool cpu_supports(const char* name);

/// If `supports` lacks any of `required` (null-terminated): writes the error
/// (the build's target, the missing extensions, what to do; one line,
/// NUL-terminated, truncated to `cap`) to buf and returns its length; else
/// returns 0. Plain C underneath: it runs before the C++ runtime is set up.
std::size_t isa_error(const char* const* required, bool (*supports)(const char*), char* buf, std::size_t cap) noexcept;

/// Always true; the check itself runs before main (a constructor compiled for
/// the baseline x86-64 ISA). Calling this links it into a program.
bool isa_checked() noexcept;

}  // namespace fedhpc
