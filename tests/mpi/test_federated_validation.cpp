// Federated validation (sim/federated_validation.hpp) at any rank count: the
// reduced accuracy equals the single-process accuracy of the same model over
// the same clients' examples, counted here one example at a time, and the
// loss and gradient are bitwise the same at every rank count (compared with
// the values this rank computes alone on a one-rank communicator).
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "fedhpc/comm/communicator.hpp"
#include "fedhpc/model/loss.hpp"
#include "fedhpc/model/network.hpp"
#include "fedhpc/sim/client_shard.hpp"
#include "fedhpc/sim/evaluator.hpp"
#include "fedhpc/sim/federated_validation.hpp"
#include "fedhpc/sim/sampler.hpp"

using namespace fedhpc;

namespace {

RunConfig config() {
  RunConfig c;
  c.data.source = DataSource::kSynthetic;
  c.data.num_clients = 60;
  c.data.synthetic_test_size = 100;
  c.model.arch = Arch::kMlp;
  c.model.hidden = {16};
  return c;
}

struct World {
  RunConfig cfg = config();
  std::unique_ptr<data::FederatedDataset> data;
  std::unique_ptr<model::Network> net;
  std::unique_ptr<sim::ClientShard> shard;
  std::vector<float> model;
  World(const comm::Communicator& comm, bool all_clients) {
    data = data::open_federated_dataset(cfg.data, 7);
    net = model::make_network(cfg.model, data->input_shape(), data->num_classes());
    net->reserve(sim::kEvalBatch);
    shard = std::make_unique<sim::ClientShard>(*data, cfg, comm);
    std::vector<int> every(static_cast<std::size_t>(data->num_clients()));
    std::iota(every.begin(), every.end(), 0);
    if (all_clients) data->materialize(every, 0, 0);
    else data->materialize(shard->own(), 0, 0);
    model.resize(net->layout().size());
    Rng rng(3, Purpose::kInit);
    net->init(model, rng);
  }
};

TEST(FederatedValidation, EqualsTheSingleProcessAccuracyAtAnyRankCount) {
  comm::Communicator world(MPI_COMM_WORLD);
  World s(world, false);
  sim::FederatedValidation v(world, *s.data, *s.net, *s.shard, 11, 25);
  const fl::ValidationScore got = v.evaluate(s.model);
  std::vector<double> grad(s.model.size());
  v.gradient(s.model, grad);
  EXPECT_EQ(v.evaluations(), 1);

  // Reference on this rank alone: every validation client, one example at a time.
  World all(world, true);
  std::int64_t correct = 0, n = 0;
  model::FlatParams params(all.net->layout(), all.model);
  const int d = all.net->input_size();
  for (int c : sim::validation_clients(11, all.data->num_clients(), 25)) {
    const data::ExampleView ex = all.data->examples(c);
    for (std::int64_t i = 0; i < ex.n; ++i) {
      const auto logits = all.net->forward(params, ex.x + i * d, 1);
      correct += std::max_element(logits.begin(), logits.end()) - logits.begin() == ex.y[i] ? 1 : 0;
      ++n;
    }
  }
  EXPECT_EQ(v.examples(), n);
  EXPECT_DOUBLE_EQ(got.accuracy, static_cast<double>(correct) / static_cast<double>(n));

  // One rank alone gives the same bits for loss and gradient.
  MPI_Comm self_comm;
  MPI_Comm_split(MPI_COMM_WORLD, world.rank(), 0, &self_comm);
  {
    comm::Communicator self(self_comm);
    const sim::ClientShard one(*all.data, all.cfg, self);
    sim::FederatedValidation alone(self, *all.data, *all.net, one, 11, 25);
    const fl::ValidationScore ref = alone.evaluate(all.model);
    EXPECT_EQ(ref.accuracy, got.accuracy);
    EXPECT_EQ(ref.loss, got.loss);
    std::vector<double> g1(grad.size());
    alone.gradient(all.model, g1);
    EXPECT_EQ(g1, grad);
    EXPECT_GT(std::count_if(g1.begin(), g1.end(), [](double x) { return x != 0.0; }), 0);
  }
  MPI_Comm_free(&self_comm);
}

}  // namespace
