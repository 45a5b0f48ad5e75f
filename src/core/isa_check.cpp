// Compiled for the baseline x86-64 ISA whatever -DFEDHPC_ARCH says
// (CMakeLists.txt), so that it can run, and refuse, on any x86-64 CPU.
#include <unistd.h>

#include <cstring>

#include "fedhpc/core/isa.hpp"
#include "fedhpc/version.hpp"

namespace fedhpc {

bool cpu_supports(const char* n) {
  __builtin_cpu_init();
  const auto is = [n](const char* name) { return std::strcmp(n, name) == 0; };
  // __builtin_cpu_supports takes string literals only: one test per name.
  if (is("sse3")) return __builtin_cpu_supports("sse3");
  if (is("ssse3")) return __builtin_cpu_supports("ssse3");
  if (is("sse4.1")) return __builtin_cpu_supports("sse4.1");
  if (is("sse4.2")) return __builtin_cpu_supports("sse4.2");
  if (is("popcnt")) return __builtin_cpu_supports("popcnt");
  if (is("avx")) return __builtin_cpu_supports("avx");
  if (is("avx2")) return __builtin_cpu_supports("avx2");
  if (is("fma")) return __builtin_cpu_supports("fma");
  if (is("bmi")) return __builtin_cpu_supports("bmi");
  if (is("bmi2")) return __builtin_cpu_supports("bmi2");
  if (is("avx512f")) return __builtin_cpu_supports("avx512f");
  if (is("avx512cd")) return __builtin_cpu_supports("avx512cd");
  if (is("avx512bw")) return __builtin_cpu_supports("avx512bw");
  if (is("avx512dq")) return __builtin_cpu_supports("avx512dq");
  if (is("avx512vl")) return __builtin_cpu_supports("avx512vl");
  if (is("avx512vbmi")) return __builtin_cpu_supports("avx512vbmi");
  if (is("avx512ifma")) return __builtin_cpu_supports("avx512ifma");
  if (is("avx512vnni")) return __builtin_cpu_supports("avx512vnni");
  if (is("avx512vbmi2")) return __builtin_cpu_supports("avx512vbmi2");
  if (is("avx512bitalg")) return __builtin_cpu_supports("avx512bitalg");
  if (is("avx512vpopcntdq")) return __builtin_cpu_supports("avx512vpopcntdq");
  if (is("avx512bf16")) return __builtin_cpu_supports("avx512bf16");
  if (is("avx512vp2intersect")) return __builtin_cpu_supports("avx512vp2intersect");
  if (is("gfni")) return __builtin_cpu_supports("gfni");
  if (is("vaes")) return __builtin_cpu_supports("vaes");
  if (is("vpclmulqdq")) return __builtin_cpu_supports("vpclmulqdq");
  return false;
}

std::size_t isa_error(const char* const* required, bool (*supports)(const char*), char* buf, std::size_t cap) noexcept {
  if (cap == 0) return 0;
  buf[0] = '\0';
  const auto add = [&](const char* t) { std::strncat(buf, t, cap - 1 - std::strlen(buf)); };
  bool any = false;
  for (const char* const* p = required; *p != nullptr; ++p) {
    if (supports(*p)) continue;
    if (!any) {
      add("fedhpc: this binary was built with -DFEDHPC_ARCH=");
      add(kBuildArch);
      add(" and uses instructions this CPU lacks (");
    } else {
      add(", ");
    }
    add(*p);
    any = true;
  }
  if (!any) return 0;
  add("): it would die with 'Illegal instruction'. Build it for the nodes that run it, e.g. "
      "cmake -B build-v3 -DFEDHPC_ARCH=x86-64-v3 (docs/cluster.md, Portable builds)\n");
  return std::strlen(buf);
}

bool isa_checked() noexcept { return true; }

namespace {

// Before any other initialisation (iostreams included): plain write(2) and _exit.
// Before any other initialisation: no C++ library code (its inline functions
// may come from a translation unit built for the newer ISA), only libc.
__attribute__((constructor(101))) void check_isa_before_anything_runs() {
  static char msg[1024];
  const std::size_t n = isa_error(kBuildIsa, cpu_supports, msg, sizeof msg);
  if (n == 0) return;
  [[maybe_unused]] const auto w = ::write(2, msg, n);
  ::_exit(2);
}

}  // namespace
}  // namespace fedhpc
