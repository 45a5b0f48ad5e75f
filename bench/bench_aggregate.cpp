// Aggregation paths across ranks (comm/aggregate.hpp) and uplink encode throughput.
//
// Part 1, all ranks: for n in {44426 (LeNet-5), 2^20} and per-rank support
// densities 0.0001 .. 1 (random supports, independent per rank, so they
// overlap): sum_dense, sum_sparse forced sparse (threshold +inf), sum_codes
// on n int32 codes, and sum_sparse with kDefaultDenseThreshold (and the path
// it chose). Time = median over R reps after one warm-up, barrier before each
// op, max over ranks; the four ops are interleaved within each rep. Prints
// the MPI payload bytes per path and the crossover density where sparse
// stops being faster.
// Part 2, rank 0 only (the others sleep in a non-blocking barrier): encode
// throughput of the update codecs (MB/s of fp32 input, updates/s).
//
//   mpirun -np 2 build/bench/bench_aggregate [--reps R] [--n N]     (R = 21; N: one size only)
//   mpirun -np 4 --oversubscribe build/bench/bench_aggregate
// As root also set OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
// Tables are printed as markdown by rank 0 (see docs/performance.md).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "fedhpc/comm/aggregate.hpp"
#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/comm/environment.hpp"
#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/core/timer.hpp"

using namespace fedhpc;
using comm::AggregateStats;
using comm::Fixed;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

/// One timed operation: reset() restores its inputs outside the timed region.
struct Timed {
  std::function<void()> reset, op;
};

/// Median over reps (after one warm-up round) of the slowest rank's time of
/// each op, in ms. The ops are interleaved within every rep, so all of them
/// see the same machine load (the ratios hold better than the absolutes).
std::vector<double> median_ms(const comm::Communicator& world, int reps, std::span<const Timed> ops) {
  std::vector<std::vector<double>> t(ops.size());
  for (int r = -1; r < reps; ++r)
    for (std::size_t i = 0; i < ops.size(); ++i) {
      ops[i].reset();
      world.barrier();
      Stopwatch sw;
      ops[i].op();
      const double dt = comm::allreduce_max(world, sw.seconds());
      if (r >= 0) t[i].push_back(dt);
    }
  std::vector<double> ms;
  for (auto& v : t) ms.push_back(1e3 * median(std::move(v)));
  return ms;
}

/// k distinct indices of [0, n), ascending (selection sampling, Knuth's algorithm S).
std::vector<std::uint32_t> random_support(std::size_t n, std::size_t k, Rng& rng) {
  std::vector<std::uint32_t> s;
  s.reserve(k);
  for (std::size_t j = 0; j < n && s.size() < k; ++j)
    if (rng.below(n - j) < k - s.size()) s.push_back(static_cast<std::uint32_t>(j));
  return s;
}

std::string human_bytes(std::int64_t b) {
  char buf[32];
  if (b < 1024) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  else if (b < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
  else std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(b) / (1024.0 * 1024.0));
  return buf;
}

struct Row {
  double density, gathered, dense_ms, sparse_ms, codes_ms, auto_ms;
  AggregateStats dense, sparse, codes, chosen;
};

/// Part 1 for one model size.
void bench_paths(const comm::Communicator& world, std::size_t n, int reps) {
  const int p = world.size();
  const std::vector<double> densities = {0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0};
  std::vector<Fixed> base(n), acc(n);           // (n) this rank's sum, (n) working copy
  std::vector<std::int32_t> codes0(n), codes(n);  // (n) quantized codes
  Rng crng(5, Purpose::kBench, n, static_cast<std::uint64_t>(world.rank()));
  for (auto& c : codes0) c = static_cast<std::int32_t>(crng.below(255)) - 127;
  comm::SparseScratch scratch;

  std::vector<Row> rows;
  for (std::size_t di = 0; di < densities.size(); ++di) {
    const double d = densities[di];
    const std::size_t k = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::llround(d * static_cast<double>(n))), 1, n);
    Rng rng(6, Purpose::kBench, n * 100 + di, static_cast<std::uint64_t>(world.rank()));
    const std::vector<std::uint32_t> support = random_support(n, k, rng);
    std::fill(base.begin(), base.end(), Fixed{0});
    for (const std::uint32_t j : support) base[j] = comm::to_fixed(0.01 * rng.normal());

    auto reset_acc = [&] { std::copy(base.begin(), base.end(), acc.begin()); };
    auto reset_codes = [&] { std::copy(codes0.begin(), codes0.end(), codes.begin()); };
    constexpr double kNever = std::numeric_limits<double>::infinity();
    Row row{};
    row.density = d;
    const std::vector<Timed> ops = {
        {reset_acc, [&] { row.dense = comm::sum_dense(world, acc); }},
        {reset_acc, [&] { row.sparse = comm::sum_sparse(world, acc, support, kNever, scratch); }},
        {reset_codes, [&] { row.codes = comm::sum_codes(world, codes); }},
        {reset_acc, [&] {
           row.chosen = comm::sum_sparse(world, acc, support, comm::kDefaultDenseThreshold, scratch);
         }}};
    const std::vector<double> ms = median_ms(world, reps, ops);
    row.dense_ms = ms[0];
    row.sparse_ms = ms[1];
    row.codes_ms = ms[2];
    row.auto_ms = ms[3];
    row.gathered = static_cast<double>(row.sparse.gathered_nnz) / static_cast<double>(n);
    rows.push_back(row);
  }
  if (world.rank() != 0) return;

  std::printf("\n### n = %zu, %d ranks (median of %d, ms = slowest rank)\n\n", n, p, reps);
  std::printf("| density/rank | gathered T/n | dense ms | sparse ms | quantized ms | sparse/dense |"
              " dense bytes | sparse bytes sent / recv | quantized bytes | default (%.2f) picks |\n",
              comm::kDefaultDenseThreshold);
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows)
    std::printf("| %g | %.4g | %.3f | %.3f | %.3f | %.2f | %s | %s / %s | %s | %s (%.3f ms) |\n",
                r.density, r.gathered, r.dense_ms, r.sparse_ms, r.codes_ms, r.sparse_ms / r.dense_ms,
                human_bytes(r.dense.bytes_sent).c_str(), human_bytes(r.sparse.bytes_sent).c_str(),
                human_bytes(r.sparse.bytes_received).c_str(), human_bytes(r.codes.bytes_sent).c_str(),
                comm::path_name(r.chosen.path), r.auto_ms);

  // Crossover: first density where sparse is no longer faster, interpolated
  // in log(density) against log(ratio) from the row before it.
  std::size_t i = 0;
  while (i < rows.size() && rows[i].sparse_ms < rows[i].dense_ms) ++i;
  if (i == rows.size()) {
    std::printf("\ncrossover: sparse faster at every density (gathered T/n up to %.3g)\n",
                rows.back().gathered);
  } else if (i == 0) {
    std::printf("\ncrossover: dense faster at every density\n");
  } else {
    const Row &a = rows[i - 1], &b = rows[i];
    const double la = std::log(a.sparse_ms / a.dense_ms), lb = std::log(b.sparse_ms / b.dense_ms);
    const double f = lb > la ? -la / (lb - la) : 1.0;
    const double d = std::exp(std::log(a.density) + f * (std::log(b.density) - std::log(a.density)));
    std::printf("\ncrossover: sparse stops being faster between density %g and %g per rank; "
                "interpolated %.3g per rank = gathered T/n %.3g\n",
                a.density, b.density, d, d * p);
  }
}

/// Part 2 on rank 0: encode throughput per codec for an update of n floats.
void bench_encode(std::size_t n, int reps) {
  using compress::UpdateCodecKind;
  struct Codec {
    const char* name;
    compress::UpdateCodecSpec spec;
  };
  auto spec = [](UpdateCodecKind kind) {
    compress::UpdateCodecSpec s;
    s.kind = kind;
    return s;
  };
  std::vector<Codec> list = {{"identity", spec(UpdateCodecKind::kIdentity)},
                             {"topk 0.01 (exact)", spec(UpdateCodecKind::kTopK)},
                             {"threshold_topk 0.01", spec(UpdateCodecKind::kThresholdTopK)},
                             {"randk 0.01", spec(UpdateCodecKind::kRandK)},
                             {"qsgd s=15", spec(UpdateCodecKind::kQsgd)},
                             {"qsgd s=7 (4-bit)", spec(UpdateCodecKind::kQsgd)},
                             {"uniform 8 bits", spec(UpdateCodecKind::kUniform)},
                             {"sign", spec(UpdateCodecKind::kSign)},
                             {"fp16", spec(UpdateCodecKind::kFp16)},
                             {"topk 0.01 + 8-bit values", spec(UpdateCodecKind::kTopK)}};
  list[5].spec.levels = 7;
  list[6].spec.bits = 8;
  list[9].spec.quantize_bits = 8;

  std::vector<float> update(n);  // (n) one client update
  Rng gen(7, Purpose::kBench, n);
  for (auto& v : update) v = static_cast<float>(0.01 * gen.normal());
  const double mb = 4.0 * static_cast<double>(n) / 1e6;

  std::printf("\n### Encode throughput, n = %zu, rank 0, one core (median of %d batches)\n\n", n, reps);
  std::printf("| codec | message bytes | bytes / fp32 bytes | encode MB/s | updates/s |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const Codec& c : list) {
    const auto codec = compress::make_update_codec(c.spec);
    compress::EncodedUpdate out;
    Rng rng(8, Purpose::kBench);
    Stopwatch warm;
    codec->encode(update, rng, out);
    // Batches of at least ~20 ms, so short encodes are not timer-bound.
    const int batch = std::max(1, static_cast<int>(std::ceil(0.02 / std::max(warm.seconds(), 1e-7))));
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
      Stopwatch sw;
      for (int b = 0; b < batch; ++b) codec->encode(update, rng, out);
      t.push_back(sw.seconds() / batch);
    }
    const double s = median(t);
    std::printf("| %s | %zu | %.4f | %.0f | %.0f |\n", c.name, out.size(),
                static_cast<double>(out.size()) / (4.0 * static_cast<double>(n)), mb / s, 1.0 / s);
  }
}

/// Ranks other than 0 wait here without spinning a core while rank 0 works.
void idle_barrier(const comm::Communicator& world) {
  MPI_Request req;
  comm::mpi_check(MPI_Ibarrier(world.get(), &req), "MPI_Ibarrier");
  for (int done = 0;;) {
    comm::mpi_check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

int main(int argc, char** argv) {
  comm::Environment env(argc, argv);
  comm::Communicator world(MPI_COMM_WORLD);
  int reps = 21;
  std::vector<std::size_t> sizes = {44426, std::size_t{1} << 20};
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (i + 1 >= argc || (k != "--reps" && k != "--n")) {
      if (world.rank() == 0)
        std::fprintf(stderr, "bad option %s (valid: --reps R, --n N)\n", k.c_str());
      return kExitUsage;
    }
    if (k == "--reps") reps = std::atoi(argv[i + 1]);
    else sizes = {static_cast<std::size_t>(std::strtoull(argv[i + 1], nullptr, 10))};
  }
  if (reps < 1 || sizes[0] < 1 || sizes[0] > (std::size_t{1} << 32)) {
    if (world.rank() == 0) std::fprintf(stderr, "need --reps >= 1 and 1 <= --n <= 2^32\n");
    return kExitUsage;
  }
  try {
    if (world.rank() == 0)
      std::printf("fedhpc aggregation benchmark: %d ranks, default dense_threshold %.2f\n",
                  world.size(), comm::kDefaultDenseThreshold);
    for (const std::size_t n : sizes) bench_paths(world, n, reps);
    if (world.rank() == 0)
      for (const std::size_t n : sizes) bench_encode(n, reps);
    idle_barrier(world);
  } catch (const Error& e) {
    std::fprintf(stderr, "[rank %d/%d] %s\n", world.rank(), world.size(), e.what());
    world.abort(kExitRuntime);
  }
  return kExitOk;
}
