// A program built for a CPU this machine is not: its ISA list (src/core/isa.cpp)
// is compiled for Tiger Lake, whose avx512vp2intersect AMD's AVX-512 CPUs
// lack. The real start-up check (src/core/isa_check.cpp) must refuse it
// before main; if this CPU has everything, main runs and the test is skipped.
#include <cstdio>

#include "fedhpc/core/isa.hpp"

int main() {
  static_cast<void>(fedhpc::isa_checked());
  std::puts("this CPU has every extension of the probe's target: nothing to refuse");
  return 77;
}
