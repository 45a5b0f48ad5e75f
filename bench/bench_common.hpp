#pragma once
// What the client benchmarks share: "--name value" options and one synthetic
// client (the values do not change the work done).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/core/rng.hpp"
#include "fedhpc/core/timer.hpp"
#include "fedhpc/data/dataset.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/train/local_trainer.hpp"

namespace fedhpc::bench {

/// Parses "--name value" pairs into the integer options `ints` and the string
/// options `strings` (defaults as given); false (with a message) on an unknown name.
inline bool parse_options(int argc, char** argv, const std::map<std::string, int*>& ints,
                          const std::map<std::string, std::string*>& strings) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (const auto it = ints.find(k); it != ints.end()) *it->second = std::atoi(argv[i + 1]);
    else if (const auto is = strings.find(k); is != strings.end()) *is->second = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return false;
    }
  }
  return true;
}

/// One client of `samples` standard-normal 28x28 images with labels in [0, 10).
struct Client {
  Client(int samples, const data::Shape& shape, Rng& rng)
      : x(static_cast<std::size_t>(samples) * shape.size()), y(static_cast<std::size_t>(samples)) {
    for (auto& v : x) v = static_cast<float>(rng.normal());
    for (auto& v : y) v = static_cast<std::int32_t>(rng.below(10));
  }
  data::ExampleView view() const { return {x.data(), y.data(), static_cast<std::int64_t>(y.size())}; }
  std::vector<float> x;
  std::vector<std::int32_t> y;
};

/// Seconds for `clients` client updates of `trainer` on `view` (each with its
/// own shuffle stream) after `warmup` updates.
inline double time_clients(train::LocalTrainer& trainer, const data::ExampleView& view, int warmup, int clients) {
  for (int k = 0; k < warmup; ++k) {
    train::ClientStreams r(1, 0, k);
    trainer.train(view, r);
  }
  Stopwatch t;
  for (int k = 0; k < clients; ++k) {
    train::ClientStreams r(1, 1, k);
    trainer.train(view, r);
  }
  return t.seconds();
}

/// The network of `cfg` on 28x28 images, reserved for `batch`, one client of
/// `samples` and an initial model, all from the benchmark stream.
struct Setup {
  Setup(const RunConfig& cfg, int batch, int samples)
      : rng(1, Purpose::kBench),
        net(model::make_network(cfg.model, shape, 10)),
        client(samples, shape, rng),
        global(net->layout().size()) {
    net->reserve(batch);
    net->init(global, rng);
  }
  static constexpr data::Shape shape{1, 28, 28};
  Rng rng;
  std::unique_ptr<model::Network> net;
  Client client;
  std::vector<float> global;
};

}  // namespace fedhpc::bench
