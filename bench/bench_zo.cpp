// Zeroth-order client throughput (docs/ntk_zo.md): the forward passes a zo
// client runs (K + 1 per example, at its perturbed and packed parameters,
// zo.batch examples per pass; the trainer's time includes expanding the
// estimate on the server's behalf) against, in one run, plain forward passes
// of the same network over fp32 parameters (at the same batch and at 16) and
// the forward passes of bench_client's backprop client (batch 16,
// client.epochs passes per example); plus the direction generation alone.
// Dense and under a density-0.2 mask.
//
//   build/bench/bench_zo [--arch lenet5|mlp] [--samples S] [--clients N] [--batch B] [--directions K]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "bench_common.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/core/timer.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/prune/pruning.hpp"
#include "fedhpc/train/local_trainer.hpp"
#include "fedhpc/train/param_store.hpp"
#include "fedhpc/train/zo_trainer.hpp"

using namespace fedhpc;

int main(int argc, char** argv) {
  int clients = 40, samples = 60, batch = 64, K = 20;
  std::string arch = "mlp";
  if (!bench::parse_options(argc, argv,
                            {{"--clients", &clients}, {"--samples", &samples}, {"--batch", &batch}, {"--directions", &K}},
                            {{"--arch", &arch}}))
    return 2;
  RunConfig cfg;
  cfg.model.arch = arch == "mlp" ? Arch::kMlp : Arch::kLeNet5;
  cfg.model.hidden = {200, 200};
  cfg.client.trainer = ClientTrainer::kZo;
  cfg.zo.directions = K;
  cfg.zo.batch = batch;
  bench::Setup setup(cfg, batch, samples);
  const data::Shape shape = bench::Setup::shape;
  auto& net = setup.net;
  const std::size_t P = net->layout().size();
  const data::ExampleView view = setup.client.view();
  const std::vector<float>& x = setup.client.x;
  const std::vector<float>& global = setup.global;
  std::printf("fedhpc zo benchmark: %s (%zu params), %d samples/client, K = %d, %d examples per pass, "
              "%d clients, 1 core\n", arch.c_str(), P, samples, K, batch, clients);

  // Plain forward passes over fp32 parameters: examples per second.
  model::FlatParams flat(net->layout(), global);
  const auto forward_rate = [&](int fb) {
    const int reps = clients * (K + 1);
    for (int w = 0; w < 3; ++w) net->forward(flat, x.data(), std::min(fb, samples));
    Stopwatch t;
    for (int r = 0; r < reps; ++r)
      for (int b = 0; b < samples; b += fb)
        net->forward(flat, x.data() + static_cast<std::size_t>(b) * shape.size(), std::min(fb, samples - b));
    return static_cast<double>(reps) * samples / t.seconds();
  };
  // zo clients (the simulator's trainer): forward passes per second, counting
  // the whole update (with expanding the estimate, the server's work) and the
  // client's forward passes alone.
  struct ZoRate {
    double trainer, passes;
  };
  const auto zo_rate = [&](double density) {
    RunConfig c = cfg;
    std::unique_ptr<train::ParamStore> store = train::make_param_store(c, net->layout());
    std::vector<float> start = global;
    std::unique_ptr<prune::Pruning> pruning;
    if (density < 1.0) {
      c.prune.method = PruneMethod::kRandom;
      c.prune.sparsity = 1.0 - density;
      pruning = prune::make_pruning(c, *net);
      Rng mr(2, Purpose::kPrune);
      pruning->state->mask.set_random(density, mr);
      pruning->state->mask.apply(start);
      store = pruning->wrap(std::move(store));
    }
    train::ZoTrainer trainer(c, *net, std::move(store));
    trainer.begin_round(0, start);
    bench::time_clients(trainer, view, 2, 0);  // warm-up
    const double p0 = trainer.pass_seconds();
    const double secs = bench::time_clients(trainer, view, 0, clients);
    const double work = static_cast<double>(clients) * (K + 1) * samples;
    return ZoRate{work / secs, work / (trainer.pass_seconds() - p0)};
  };
  // bench_client's client path (backprop, batch 16, client.epochs): forward passes per second.
  const auto backprop_rate = [&] {
    RunConfig c = cfg;
    c.client.trainer = ClientTrainer::kBackprop;
    c.client.batch_size = 16;
    auto trainer = train::make_trainer(c, *net);
    trainer->begin_round(0, global);
    const int n = clients * 4;
    return static_cast<double>(n) * samples * c.client.epochs / bench::time_clients(*trainer, view, 2, n);
  };
  // Direction generation alone: normals per second.
  const auto normal_rate = [&] {
    std::vector<float> u(P);
    Stopwatch t;
    for (int k = 0; k < clients; ++k)
      for (std::size_t i = 0; i < net->layout().num_vars(); ++i)
        train::zo_direction(static_cast<std::uint64_t>(k), 0, i,
                            std::span<float>(u).subspan(net->layout().var(i).offset, net->layout().var(i).size));
    return static_cast<double>(clients) * static_cast<double>(P) / t.seconds();
  };
  // bench_client's forward: a backprop client's minibatch (client.batch_size 16).
  const double fwd = forward_rate(batch), fwd16 = forward_rate(16), bp = backprop_rate();
  const ZoRate dense = zo_rate(1.0), masked = zo_rate(0.2);
  const double normals = normal_rate();
  std::printf("plain forward, batch %-3d %11.0f examples/s\n", batch, fwd);
  std::printf("plain forward, batch 16  %11.0f examples/s  (bench_client's minibatch)\n", fwd16);
  std::printf("backprop client forwards %11.0f examples/s  (bench_client's path: batch 16, %d epochs)\n", bp,
              cfg.client.epochs);
  for (const auto& [name, r] : {std::pair{"dense", dense}, std::pair{"0.2  ", masked}}) {
    std::printf("zo %s client passes    %11.0f examples/s  (%.2f x plain at %d, %.2f x at 16, %.2f x backprop)\n", name,
                r.passes, r.passes / fwd, batch, r.passes / fwd16, r.passes / bp);
    std::printf("zo %s with expansion   %11.0f examples/s  (%.2f x plain at %d, %.2f x at 16, %.2f x backprop)\n", name,
                r.trainer, r.trainer / fwd, batch, r.trainer / fwd16, r.trainer / bp);
  }
  std::printf("directions               %11.1f M normals/s (%.2f ns each)\n", normals / 1e6, 1e9 / normals);
  return 0;
}
