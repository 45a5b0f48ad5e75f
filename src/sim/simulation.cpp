#include "fedhpc/sim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/stop_signal.hpp"
#include "fedhpc/core/timer.hpp"
#include "fedhpc/sim/memory_budget.hpp"
#include "fedhpc/sim/sampler.hpp"
#include "fedhpc/sim/sharding.hpp"

namespace fedhpc::sim {
namespace {

/// The codec spec of an [uplink] section (null codec for none).
std::unique_ptr<compress::UpdateCodec> make_uplink(const UplinkSection& u) {
  using K = compress::UpdateCodecKind;
  compress::UpdateCodecSpec spec;
  switch (u.codec) {
    case UplinkCodec::kNone: return nullptr;
    case UplinkCodec::kTopK: spec.kind = K::kTopK; break;
    case UplinkCodec::kThresholdTopK: spec.kind = K::kThresholdTopK; break;
    case UplinkCodec::kRandK: spec.kind = K::kRandK; break;
    case UplinkCodec::kQsgd: spec.kind = K::kQsgd; break;
    case UplinkCodec::kUniform: spec.kind = K::kUniform; break;
    case UplinkCodec::kSign: spec.kind = K::kSign; break;
    case UplinkCodec::kFp16: spec.kind = K::kFp16; break;
  }
  spec.ratio = u.ratio;
  spec.quantize_bits = u.quantize_bits;
  spec.sample_size = static_cast<std::size_t>(u.sample_size);
  spec.levels = u.levels;
  spec.bucket_size = static_cast<std::size_t>(u.bucket_size);
  spec.bits = u.bits;
  return compress::make_update_codec(spec);
}

// Tail of the round accumulator, after the P model entries.
enum Tail : std::size_t { kWeight, kLossSum, kExamples, kBytesUp, kDiverged, kStop, kTailSize };

std::string describe_layout(const model::ParamLayout& layout) {
  std::ostringstream s;
  for (const auto& v : layout.vars()) {
    s << v.name << ":";
    for (std::size_t i = 0; i < v.shape.size(); ++i) s << (i ? "x" : "") << v.shape[i];
    s << ":" << (v.kind == model::VarKind::kBias ? "bias"
                 : v.kind == model::VarKind::kConvKernel ? "conv" : "dense")
      << ";";
  }
  return s.str();
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000.0 && u < 4) {
    b /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", b, units[u]);
  return buf;
}

std::string human_seconds(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
  return buf;
}

}  // namespace

Simulation::Simulation(const RunConfig& cfg, std::string effective_ini,
                       std::string execution_ini, const comm::Communicator& comm, bool resume)
    : cfg_(cfg),
      effective_ini_(std::move(effective_ini)),
      execution_ini_(std::move(execution_ini)),
      comm_(&comm),
      resume_(resume) {
  data_ = data::open_federated_dataset(cfg_.data, cfg_.run.seed);
  net_ = model::make_network(cfg_.model, data_->input_shape(), data_->num_classes());
  net_->reserve(std::max(cfg_.client.batch_size, kEvalBatch));
  trainer_ = train::make_trainer(cfg_, *net_);
  const std::size_t P = net_->layout().size();
  server_ = make_server_optimizer(cfg_.server, P);

  const int n = data_->num_clients();
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) sizes[static_cast<std::size_t>(c)] = data_->num_samples(c);
  owner_ = assign_clients(sizes, comm.size());
  budget_.resize(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) budget_[static_cast<std::size_t>(c)] = memory_budget(cfg_.client, cfg_.run.seed, c);

  std::vector<int> mine;
  for (int c = 0; c < n; ++c)
    if (owner_[static_cast<std::size_t>(c)] == comm.rank()) mine.push_back(c);
  const auto [t0, t1] = test_rows(data_->test_size(), comm.rank(), comm.size());
  data_->materialize(mine, t0, t1);
  evaluator_ = std::make_unique<Evaluator>(comm, *net_, data_->test_examples(), data_->test_size());

  model_.resize(P);
  Rng init(cfg_.run.seed, Purpose::kInit);
  net_->init(model_, init);
  local_.resize(P);
  acc_.resize(P + kTailSize);
  delta_.resize(P);
  uplink_ = make_uplink(cfg_.uplink);
  if (uplink_) update_.resize(P);

  if (resume_) {
    Checkpoint ck = read_checkpoint(cfg_.run.checkpoint_path(), effective_ini_);
    const auto state = server_->state();
    if (ck.model.size() != P || ck.server_state.size() != state.size())
      throw ConfigError("run.checkpoint", "'" + cfg_.run.checkpoint_path() +
                                              "' holds a model of another size");
    if (ck.next_round >= cfg_.server.rounds)
      throw ConfigError("run.checkpoint", "'" + cfg_.run.checkpoint_path() +
                                              "' is at the last round already: nothing to resume");
    model_ = std::move(ck.model);
    std::copy(ck.server_state.begin(), ck.server_state.end(), state.begin());
    start_round_ = ck.next_round;
    client_rows_ = ck.client_rows;
    snapshots_ = ck.snapshots;
    elapsed_before_ = ck.elapsed_seconds;
  }
}

Simulation::~Simulation() = default;

bool Simulation::add_update(int round, int client, std::int64_t weight, std::int64_t& bytes_up) {
  const std::size_t P = model_.size();
  if (!uplink_) {
    // The client's model (or its stored form) is sent; the update is exact in double.
    for (std::size_t j = 0; j < P; ++j)
      if (!comm::fits_fixed(static_cast<double>(local_[j]) - model_[j])) return false;
    for (std::size_t j = 0; j < P; ++j)
      acc_[j] += weight * comm::to_fixed(static_cast<double>(local_[j]) - static_cast<double>(model_[j]));
    bytes_up = trainer_->uplink_bytes();
    return true;
  }
  // The update goes through the uplink codec (keyed stream); the server adds what it decodes.
  for (std::size_t j = 0; j < P; ++j) {
    update_[j] = local_[j] - model_[j];
    if (!comm::fits_fixed(update_[j])) return false;
  }
  Rng rng(cfg_.run.seed, Purpose::kUplink, static_cast<std::uint64_t>(round),
          static_cast<std::uint64_t>(client));
  bytes_up = static_cast<std::int64_t>(uplink_->encode(update_, rng, message_));
  uplink_->decode(message_, update_);
  for (std::size_t j = 0; j < P; ++j)
    if (!comm::fits_fixed(update_[j])) return false;
  for (std::size_t j = 0; j < P; ++j) acc_[j] += weight * comm::to_fixed(update_[j]);
  return true;
}

RoundRecord Simulation::run_round(int round, std::vector<std::int64_t>& my_rows,
                                  std::vector<ClientRecord>& mine) {
  const std::size_t P = model_.size();
  trainer_->begin_round(round, model_);
  const std::int64_t down_bytes = trainer_->downlink_bytes();
  const auto sampled = sample_clients(cfg_.run.seed, round, data_->num_clients(),
                                      cfg_.clients_per_round());
  RoundRecord rec;
  rec.round = round;
  {
    const MemoryBreakdown m = trainer_->peak_memory(1);
    rec.param_memory_bytes = static_cast<std::int64_t>(m.params + m.decoded);
    rec.param_memory_ratio = static_cast<double>(rec.param_memory_bytes) / (4.0 * static_cast<double>(P));
  }
  rec.clients_sampled = static_cast<std::int64_t>(sampled.size());
  my_rows.clear();
  mine.clear();
  std::fill(acc_.begin(), acc_.end(), comm::Fixed{0});
  std::int64_t trained = 0;

  // Every rank classifies every sampled client (cheap, deterministic), so the
  // round counts need no communication; only training results are reduced.
  for (std::size_t i = 0; i < sampled.size(); ++i) {
    const int c = sampled[i];
    const std::int64_t n = data_->num_samples(c);
    const MemoryBreakdown mem = trainer_->peak_memory(n);
    const auto budget = budget_[static_cast<std::size_t>(c)];
    const bool over = mem.total() > budget;
    const bool dropped = drops_out(cfg_.run.seed, round, c, cfg_.client.dropout);
    ClientStatus status = ClientStatus::kCompleted;
    if (over && cfg_.client.over_budget == OverBudget::kSkip) status = ClientStatus::kOverBudget;
    else if (dropped) status = ClientStatus::kDropped;
    rec.clients_over_budget += over ? 1 : 0;
    rec.clients_dropped += status == ClientStatus::kDropped ? 1 : 0;
    rec.peak_memory_max = std::max<std::int64_t>(rec.peak_memory_max, static_cast<std::int64_t>(mem.total()));
    // The model goes to every client that was asked and fits its budget.
    const std::int64_t down = status == ClientStatus::kOverBudget ? 0 : down_bytes;
    rec.bytes_down += down;
    const double client_flops = status == ClientStatus::kCompleted ? trainer_->flops(n) : 0.0;
    trained += status == ClientStatus::kCompleted ? 1 : 0;
    rec.flops += client_flops;
    if (owner_[static_cast<std::size_t>(c)] != comm_->rank()) continue;

    ClientRecord cr;
    cr.round = round;
    cr.client_id = c;
    cr.num_samples = n;
    cr.over_budget = over ? 1 : 0;
    cr.peak_memory_bytes = static_cast<std::int64_t>(mem.total());
    cr.param_memory_bytes = static_cast<std::int64_t>(mem.params + mem.decoded);
    cr.memory_budget_bytes = static_cast<std::int64_t>(budget);
    cr.bytes_down = down;
    cr.train_loss = std::numeric_limits<double>::quiet_NaN();
    if (status == ClientStatus::kCompleted) {
      Rng rng(cfg_.run.seed, Purpose::kShuffle, static_cast<std::uint64_t>(round),
              static_cast<std::uint64_t>(c));
      const auto res = trainer_->train(local_, data_->examples(c), rng);
      std::int64_t client_up = 0;
      if (comm::fits_fixed(res.loss_sum) && add_update(round, c, n, client_up)) {
        acc_[P + kWeight] += n;
        acc_[P + kLossSum] += comm::to_fixed(res.loss_sum);
        acc_[P + kExamples] += res.examples_seen;
        acc_[P + kBytesUp] += client_up;
        cr.bytes_up = client_up;
        cr.train_loss = res.loss_sum / static_cast<double>(res.examples_seen);
      } else {
        status = ClientStatus::kDiverged;
        acc_[P + kDiverged] += 1;
      }
      cr.steps = res.steps;
      cr.flops = client_flops;
    }
    cr.status = static_cast<std::int32_t>(status);
    my_rows.push_back(static_cast<std::int64_t>(i));
    mine.push_back(cr);
  }

  acc_[P + kStop] = stop_requested() ? 1 : 0;
  comm::allreduce_exact(*comm_, acc_);
  stop_ = acc_[P + kStop] > 0;

  const auto weight = static_cast<std::int64_t>(acc_[P + kWeight]);
  rec.clients_diverged = static_cast<std::int64_t>(acc_[P + kDiverged]);
  rec.clients_completed = trained - rec.clients_diverged;
  rec.examples = static_cast<std::int64_t>(acc_[P + kExamples]);
  rec.bytes_up = static_cast<std::int64_t>(acc_[P + kBytesUp]);
  rec.train_loss = rec.examples > 0 ? comm::from_fixed(acc_[P + kLossSum]) / static_cast<double>(rec.examples)
                                    : std::numeric_limits<double>::quiet_NaN();
  if (weight > 0) {
    const double inv = 1.0 / static_cast<double>(weight);
    for (std::size_t j = 0; j < P; ++j) delta_[j] = comm::from_fixed(acc_[j]) * inv;
    server_->step(model_, delta_);
  }
  return rec;
}

void Simulation::write_client_info(Recorder& recorder) {
  // Each rank writes a contiguous slice of clients.
  const std::int64_t n = data_->num_clients();
  const std::int64_t b = n * comm_->rank() / comm_->size();
  const std::int64_t e = n * (comm_->rank() + 1) / comm_->size();
  const auto classes = static_cast<std::size_t>(data_->num_classes());
  ClientInfoSlice s;
  s.first = b;
  s.label_histogram.resize(static_cast<std::size_t>(e - b) * classes);
  for (std::int64_t k = b; k < e; ++k) {
    const int ci = static_cast<int>(k);
    s.client_id.push_back(k);
    s.num_samples.push_back(data_->num_samples(ci));
    s.memory_budget_bytes.push_back(static_cast<std::int64_t>(budget_[static_cast<std::size_t>(k)]));
    s.rank.push_back(owner_[static_cast<std::size_t>(k)]);
    data_->label_histogram(
        ci, std::span(s.label_histogram).subspan(static_cast<std::size_t>(k - b) * classes, classes));
  }
  recorder.write_client_info(s);
}

void Simulation::checkpoint(Recorder& recorder, std::int64_t next_round, double elapsed) {
  recorder.flush();
  Checkpoint ck;
  ck.config_ini = effective_ini_;
  ck.next_round = next_round;
  ck.client_rows = client_rows_;
  ck.snapshots = snapshots_;
  ck.elapsed_seconds = elapsed;
  ck.model = model_;
  const auto state = server_->state();
  ck.server_state.assign(state.begin(), state.end());
  write_checkpoint(*comm_, cfg_.run.checkpoint_path(), ck, recorder.part_path());
}

Simulation::Outcome Simulation::run() {
  const RunConfig& c = cfg_;
  RunMetadata meta;
  meta.config_ini = effective_ini_;
  meta.execution_ini = execution_ini_;
  meta.seed = c.run.seed;
  meta.num_clients = data_->num_clients();
  meta.num_params = static_cast<std::int64_t>(model_.size());
  meta.num_classes = data_->num_classes();
  meta.clients_per_round = c.clients_per_round();
  meta.rounds = c.server.rounds;
  meta.model_layout = describe_layout(net_->layout());
  const ResumePoint point{start_round_, client_rows_, snapshots_};
  if (resume_) restore_results(*comm_, c.run.checkpoint_path(), c.run.output + ".part");
  Recorder recorder(*comm_, c.run.output, meta, resume_ ? &point : nullptr);
  try {
    return run_rounds(recorder);
  } catch (const AgreedIoError&) {
    throw;  // every rank is here: the recorder closes collectively
  } catch (...) {
    recorder.abandon();  // possibly this rank only: main reports and aborts
    throw;
  }
}

Simulation::Outcome Simulation::run_rounds(Recorder& recorder) {
  const RunConfig& c = cfg_;
  write_client_info(recorder);

  Stopwatch total;
  std::vector<std::int64_t> my_rows;
  std::vector<ClientRecord> mine;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int r = static_cast<int>(start_round_); r < c.server.rounds; ++r) {
    Stopwatch round_time;
    RoundRecord rec = run_round(r, my_rows, mine);
    const bool last = r + 1 == c.server.rounds;
    rec.test_accuracy = rec.test_loss = nan;
    if ((r + 1) % c.run.eval_every == 0 || last) {
      const EvalResult e = evaluator_->evaluate(model_);
      rec.test_accuracy = e.accuracy;
      rec.test_loss = e.loss;
      summary_.final_accuracy = e.accuracy;
    }
    rec.round_seconds = round_time.seconds();
    rec.wall_seconds = elapsed_before_ + total.seconds();
    recorder.write_round(rec, rec.clients_sampled, my_rows, mine);
    client_rows_ += rec.clients_sampled;
    if ((c.run.snapshot_every > 0 && (r + 1) % c.run.snapshot_every == 0) || last) {
      recorder.write_snapshot(r, model_);
      ++snapshots_;
    }
    summary_.client_updates += rec.clients_completed;
    if (c.run.progress && comm_->rank() == 0) print_progress(rec);
    if (last) break;
    const bool periodic = c.run.checkpoint_every > 0 && (r + 1) % c.run.checkpoint_every == 0;
    if (periodic || stop_) checkpoint(recorder, r + 1, elapsed_before_ + total.seconds());
    if (stop_) {
      summary_.seconds = total.seconds();
      return Outcome::kStopped;
    }
  }
  recorder.commit();
  remove_checkpoint(*comm_, c.run.checkpoint_path());
  summary_.seconds = total.seconds();
  return Outcome::kCompleted;
}

void Simulation::print_progress(const RoundRecord& r) const {
  const int total = cfg_.server.rounds;
  const double per_round = r.wall_seconds / static_cast<double>(r.round + 1);
  const double eta = per_round * static_cast<double>(total - r.round - 1);
  char acc[48];
  if (std::isnan(r.test_accuracy)) std::snprintf(acc, sizeof acc, "acc      -  loss      -");
  else std::snprintf(acc, sizeof acc, "acc %6.2f%%  loss %6.4f", 100.0 * r.test_accuracy, r.test_loss);
  std::printf("round %*lld/%d  %s  train %6.4f  clients %lld/%lld  up %s  down %s  elapsed %s  eta %s\n",
              static_cast<int>(std::to_string(total).size()), static_cast<long long>(r.round + 1),
              total, acc, r.train_loss, static_cast<long long>(r.clients_completed),
              static_cast<long long>(r.clients_sampled), human_bytes(static_cast<double>(r.bytes_up)).c_str(),
              human_bytes(static_cast<double>(r.bytes_down)).c_str(), human_seconds(r.wall_seconds).c_str(),
              human_seconds(eta).c_str());
  std::fflush(stdout);
}

}  // namespace fedhpc::sim
