// Parameter-storage codec throughput (OMC): encode and decode GB/s of fp32
// input through EncodedParams on one large variable, for integer codes at
// b in {2, 4, 6, 8, 16}, 8-bit with PVT, and float e4m3, nearest and
// stochastic rounding, next to memcpy GB/s measured in the same run.
//
//   build/bench/bench_codec [--elements N] [--reps R]     (default 16M elements, best of 3)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fedhpc/compress/param_codec.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/core/timer.hpp"
#include "fedhpc/model/param_layout.hpp"

using namespace fedhpc;
using compress::EncodedParams;
using compress::Rounding;
using compress::StorageSpec;

namespace {

/// Best-of-reps wall time of f().
template <class F>
double best_seconds(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    Stopwatch t;
    f();
    best = std::min(best, t.seconds());
  }
  return best;
}

struct Row {
  const char* name;
  StorageSpec spec;
};

StorageSpec int_spec(int bits, bool pvt = false) {
  StorageSpec s;
  s.codec = StorageSpec::Codec::kInt;
  s.bits = bits;
  s.pvt = pvt;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = std::size_t{1} << 24;
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--elements") n = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--reps") reps = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s (valid: --elements, --reps)\n", k.c_str());
      return 2;
    }
  }
  if (n < 64 || reps < 1) {
    std::fprintf(stderr, "need --elements >= 64 and --reps >= 1\n");
    return 2;
  }
  // One dense variable of n elements (n = rows * 64).
  model::ParamLayout layout;
  layout.add("w", {static_cast<int>(n / 64), 64}, model::VarKind::kDenseWeight);
  n = layout.size();
  const double gb = 4.0 * static_cast<double>(n) / 1e9;  // fp32 input bytes

  std::vector<float> x(n), y(n);  // (n) input, (n) decoded
  Rng gen(1, Purpose::kBench);
  for (auto& v : x) v = static_cast<float>(0.05 * gen.normal());

  std::memcpy(y.data(), x.data(), 4 * n);  // fault the pages in
  const double t_copy = best_seconds(std::max(reps, 5), [&] { std::memcpy(y.data(), x.data(), 4 * n); });
  const double copy_gbs = gb / t_copy;

  std::printf("fedhpc codec benchmark: %zu fp32 elements (%.1f MB), best of %d, 1 core\n", n,
              gb * 1e3, reps);
  std::printf("memcpy: %.2f GB/s\n\n", copy_gbs);
  std::printf("%-12s %-10s %8s %10s %8s %10s %8s %12s\n", "codec", "rounding", "bytes/p",
              "enc GB/s", "enc/cpy", "dec GB/s", "dec/cpy", "max |err|");

  StorageSpec e4m3;
  e4m3.codec = StorageSpec::Codec::kFloat;
  const std::vector<Row> rows = {{"int2", int_spec(2)},          {"int4", int_spec(4)},
                                 {"int6", int_spec(6)},          {"int8", int_spec(8)},
                                 {"int16", int_spec(16)},        {"int8+pvt", int_spec(8, true)},
                                 {"float e4m3", e4m3},           {"fp32", StorageSpec{}}};
  double checksum = 0.0;
  for (const Row& row : rows) {
    EncodedParams enc(layout, row.spec);
    for (Rounding r : {Rounding::kNearest, Rounding::kStochastic}) {
      Rng rng(2, Purpose::kBench);
      enc.encode_all(x, r, rng);  // warm-up
      const double t_enc = best_seconds(reps, [&] { enc.encode_all(x, r, rng); });
      enc.decode_all(y);
      const double t_dec = best_seconds(reps, [&] { enc.decode_all(y); });
      float err = 0.0f;
      for (std::size_t i = 0; i < n; ++i) err = std::max(err, std::abs(x[i] - y[i]));
      checksum += static_cast<double>(y[n / 3]);
      std::printf("%-12s %-10s %8.3f %10.2f %8.2f %10.2f %8.2f %12.3e\n", row.name,
                  r == Rounding::kNearest ? "nearest" : "stochastic",
                  static_cast<double>(enc.bytes()) / static_cast<double>(n), gb / t_enc,
                  gb / t_enc / copy_gbs, gb / t_dec, gb / t_dec / copy_gbs,
                  static_cast<double>(err));
    }
  }
  std::printf("\n(checksum %.6f)\n", checksum);
  return 0;
}
