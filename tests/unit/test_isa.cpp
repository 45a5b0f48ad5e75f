// The start-up ISA check (core/isa.hpp) with a pretend CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "fedhpc/core/isa.hpp"
#include "fedhpc/version.hpp"

using namespace fedhpc;

namespace {
bool old_cpu(const char* name) { return std::strncmp(name, "avx512", 6) != 0; }  // everything but AVX-512
bool any_cpu(const char*) { return true; }
}  // namespace

TEST(Isa, ACpuWithoutARequiredExtensionGetsOneLineNamingItAndTheFix) {
  const char* const required[] = {"avx2", "fma", "avx512f", "avx512bw", nullptr};
  char buf[1024];
  const std::size_t n = isa_error(required, old_cpu, buf, sizeof buf);
  const std::string msg(buf, n);
  EXPECT_EQ(n, std::strlen(buf));
  EXPECT_NE(msg.find(std::string("-DFEDHPC_ARCH=") + kBuildArch), std::string::npos) << msg;
  EXPECT_NE(msg.find("(avx512f, avx512bw)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-DFEDHPC_ARCH=x86-64-v3"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("avx2"), std::string::npos) << msg;  // what the CPU has is not listed
  EXPECT_EQ(msg.back(), '\n');
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 1);
  EXPECT_EQ(isa_error(required, any_cpu, buf, sizeof buf), 0u);
  // A small buffer truncates, still NUL-terminated.
  char small[16];
  EXPECT_EQ(isa_error(required, old_cpu, small, sizeof small), 15u);
}

TEST(Isa, ThisBuildRunsOnThisCpuAndSaysWhatItUses) {
  char buf[1024];
  EXPECT_EQ(isa_error(kBuildIsa, cpu_supports, buf, sizeof buf), 0u) << buf;
  const std::string isa = build_isa();
#if defined(__AVX2__)
  EXPECT_NE(isa.find("avx2"), std::string::npos) << isa;
#endif
#if defined(__AVX512F__)
  EXPECT_NE(isa.find("avx512f"), std::string::npos) << isa;
  EXPECT_TRUE(cpu_supports("avx512f"));
#endif
  EXPECT_FALSE(cpu_supports("not-an-extension"));
}
