// Calibration of the alpha-beta model of a round (bench/alpha_beta.py,
// docs/performance.md "Cluster scale on paper"): the time of fedhpc's three
// aggregation collectives as a function of message size, on this machine.
//
//   dense      sum_dense on n 128-bit accumulators (16 n bytes)
//   quantized  sum_codes on n int32 codes (4 n bytes)
//   sparse     sum_sparse forced sparse, k records per rank (20 k bytes each;
//              every rank receives p * 20 k)
//   barrier    MPI_Barrier (the latency floor)
//
// Time = median over R reps after one warm-up, a barrier before each op, max
// over ranks. Output: one CSV line per (op, size) on rank 0:
//   op,ranks,elements,bytes_per_rank,seconds
//
//   mpirun -np 2 build/bench/bench_collectives [--reps R]
//   mpirun -np 4 --oversubscribe build/bench/bench_collectives
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <vector>

#include "fedhpc/comm/aggregate.hpp"
#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/comm/environment.hpp"
#include "fedhpc/core/timer.hpp"

using namespace fedhpc;

namespace {

/// Median over reps of the slowest rank's time of op().
double time_op(const comm::Communicator& c, int reps, const std::function<void()>& op) {
  op();  // warm-up
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    c.barrier();
    Stopwatch w;
    op();
    double s = w.seconds();
    s = comm::allreduce_max(c, s);
    t.push_back(s);
  }
  std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
  return t[static_cast<std::size_t>(reps / 2)];
}

}  // namespace

int main(int argc, char** argv) {
  comm::Environment env(argc, argv);
  comm::Communicator c(MPI_COMM_WORLD);
  int reps = 15;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--reps") == 0) reps = std::atoi(argv[i + 1]);
  const int p = c.size();
  auto line = [&](const char* op, std::size_t elements, std::size_t bytes, double s) {
    if (c.rank() == 0) std::printf("%s,%d,%zu,%zu,%.9g\n", op, p, elements, bytes, s);
  };
  if (c.rank() == 0) std::printf("op,ranks,elements,bytes_per_rank,seconds\n");
  line("barrier", 0, 0, time_op(c, reps, [&] { c.barrier(); }));
  for (std::size_t n = 16; n <= (std::size_t{1} << 20); n *= 4) {
    std::vector<comm::Fixed> acc(n, 1);
    line("dense", n, 16 * n, time_op(c, reps, [&] { std::fill(acc.begin(), acc.end(), 1); comm::sum_dense(c, acc); }));
    std::vector<std::int32_t> codes(n, 1);
    line("quantized", n, 4 * n, time_op(c, reps, [&] { std::fill(codes.begin(), codes.end(), 1); comm::sum_codes(c, codes); }));
  }
  // Sparse: k records per rank out of a model of 2^22 (disjoint supports).
  const std::size_t big = std::size_t{1} << 22;
  std::vector<comm::Fixed> acc(big, 0);
  for (std::size_t k = 16; k <= (std::size_t{1} << 18); k *= 4) {
    std::vector<std::uint32_t> support(k);
    for (std::size_t j = 0; j < k; ++j) support[j] = static_cast<std::uint32_t>(j * p + c.rank());
    line("sparse", k, static_cast<std::size_t>(comm::kSparseRecordBytes) * k, time_op(c, reps, [&] {
      for (const auto j : support) acc[j] = 1;
      comm::sum_sparse(c, acc, support, std::numeric_limits<double>::infinity());
      for (std::size_t j = 0; j < k * static_cast<std::size_t>(p); ++j) acc[j] = 0;
    }));
  }
  return 0;
}
