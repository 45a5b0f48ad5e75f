// Client-path throughput: client updates per second per core for the default
// model and client settings, the achieved FLOP rate, and the same machine's
// large-GEMM rate measured in the same run, plus peak RSS.
//
//   build/bench/bench_client [--clients N] [--samples S] [--batch B] [--arch lenet5|mlp]
#include <Eigen/Dense>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "fedhpc/core/process_memory.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/core/timer.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/prune/pruning.hpp"
#include "fedhpc/train/local_trainer.hpp"
#include "fedhpc/train/param_store.hpp"

using namespace fedhpc;

namespace {

/// GFLOP/s of a large single-precision Eigen GEMM (n x n x n), best of `reps`.
double gemm_gflops(int n, int reps) {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n), c(n, n);
  double best = 0.0;
  for (int r = 0; r < reps; ++r) {
    Stopwatch t;
    c.noalias() = a * b;
    best = std::max(best, 2.0 * n * n * static_cast<double>(n) / t.seconds() / 1e9);
  }
  std::printf("  (checksum %.3f)\n", static_cast<double>(c(0, 0)));
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 300, samples = 60, batch = 16;
  std::string arch = "lenet5";
  if (!bench::parse_options(argc, argv, {{"--clients", &clients}, {"--samples", &samples}, {"--batch", &batch}},
                            {{"--arch", &arch}}))
    return 2;
  RunConfig cfg;
  cfg.model.arch = arch == "mlp" ? Arch::kMlp : Arch::kLeNet5;
  cfg.client.batch_size = batch;
  bench::Setup setup(cfg, batch, samples);
  auto& net = setup.net;
  const std::size_t P = net->layout().size();
  const data::ExampleView view = setup.client.view();
  const std::vector<float>& global = setup.global;

  std::printf("fedhpc client-path benchmark: %s (%zu params), %d samples/client, batch %d, "
              "%d client updates per storage, 1 core\n", arch.c_str(), P, samples, batch, clients);
  /// Client updates per second with the storage of `c`, and the trainer's model.
  struct Result {
    double updates_per_s, gflops;
    MemoryBreakdown mem;
  };
  const auto measure = [&](const RunConfig& c) {
    // The store as the simulator builds it: [storage], wrapped by the [prune] method.
    std::unique_ptr<train::ParamStore> store = train::make_param_store(c, net->layout());
    std::vector<float> start = global;
    if (auto pruning = prune::make_pruning(c, *net)) {
      Rng mr(2, Purpose::kPrune);
      pruning->state->mask.set_random(1.0 - c.prune.sparsity, mr);
      pruning->state->mask.apply(start);  // the broadcast is w ⊙ m
      store = pruning->wrap(std::move(store));
    }
    auto trainer = train::make_trainer(c, *net, std::move(store));
    trainer->begin_round(10, start);  // a round with lambda > 0 (FedDIP)
    const double secs = bench::time_clients(*trainer, view, 5, clients);
    return Result{clients / secs, trainer->flops(samples) * clients / secs / 1e9,
                  trainer->peak_memory(samples)};
  };
  const Result fp32 = measure(cfg);
  RunConfig omc = cfg;  // 8-bit OMC with WMOQ + PVT + PPQ(0.1), stochastic re-encoding
  omc.storage.codec = compress::StorageSpec::Codec::kInt;
  omc.storage.bits = 8;
  omc.storage.weights_only = true;
  omc.storage.pvt = true;
  omc.storage.fp32_fraction = 0.1;
  const Result q8 = measure(omc);
  // Masked clients at 90 % weight sparsity: FedDIP (dense update + regularizer)
  // and magnitude pruning without feedback (masked gradient).
  RunConfig fd = cfg;
  fd.prune.method = PruneMethod::kFedDip;
  fd.prune.sparsity = 0.9;
  fd.server.rounds = 100;
  const Result feddip = measure(fd);
  RunConfig mag = fd;
  mag.prune.method = PruneMethod::kMagnitude;
  const Result frozen = measure(mag);

  std::printf("large GEMM (1024^3, Eigen, fp32):\n");
  const double gemm = gemm_gflops(1024, 5);
  std::printf("client updates/s/core   %10.1f\n", fp32.updates_per_s);
  std::printf("examples/s/core         %10.1f\n", fp32.updates_per_s * samples);
  std::printf("client path GFLOP/s     %10.2f\n", fp32.gflops);
  std::printf("large GEMM GFLOP/s      %10.2f\n", gemm);
  std::printf("client / GEMM           %10.1f %%\n", 100.0 * fp32.gflops / gemm);
  std::printf("modelled client peak    %10.1f KiB (params %.1f KiB)\n",
              static_cast<double>(fp32.mem.total()) / 1024.0, static_cast<double>(fp32.mem.params) / 1024.0);
  std::printf("OMC int8 updates/s/core %10.1f\n", q8.updates_per_s);
  std::printf("OMC / fp32 step time    %10.2f x\n", fp32.updates_per_s / q8.updates_per_s);
  std::printf("OMC client peak         %10.1f KiB (params %.1f + decoded %.1f KiB)\n",
              static_cast<double>(q8.mem.total()) / 1024.0, static_cast<double>(q8.mem.params) / 1024.0,
              static_cast<double>(q8.mem.decoded) / 1024.0);
  std::printf("FedDIP 90%% updates/s/core %8.1f\n", feddip.updates_per_s);
  std::printf("FedDIP / fp32 step time %10.2f x\n", fp32.updates_per_s / feddip.updates_per_s);
  std::printf("magnitude 90%% / fp32    %10.2f x\n", fp32.updates_per_s / frozen.updates_per_s);
  std::printf("FedDIP client peak      %10.1f KiB (params %.1f KiB); magnitude %.1f KiB (params %.1f KiB)\n",
              static_cast<double>(feddip.mem.total()) / 1024.0, static_cast<double>(feddip.mem.params) / 1024.0,
              static_cast<double>(frozen.mem.total()) / 1024.0, static_cast<double>(frozen.mem.params) / 1024.0);
  std::printf("peak RSS                %10.1f MiB\n", static_cast<double>(peak_rss_bytes()) / (1 << 20));
  return 0;
}
