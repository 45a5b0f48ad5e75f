// The round loop over the seams (docs/design.md, "Seams: how a method plugs
// in"): the constructor chooses trainer, uplink, aggregator and server stages
// once from the config; run_round() is sample -> downlink -> local step ->
// uplink -> aggregate -> server stages, with no branch on any of them.
#include "fedhpc/sim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/memory_limits.hpp"
#include "fedhpc/core/process_memory.hpp"
#include "fedhpc/core/stop_signal.hpp"
#include "fedhpc/core/timer.hpp"
#include "fedhpc/sim/sampler.hpp"
#include "fedhpc/io/h5_reader.hpp"
#include "fedhpc/posttrain/posttrain.hpp"
#include "fedhpc/posttrain/codebook.hpp"
#include "fedhpc/prune/pruning.hpp"
#include "fedhpc/sim/rank_memory.hpp"
#include "fedhpc/sim/downlink.hpp"
#include "fedhpc/sim/server_feedback.hpp"

namespace fedhpc::sim {
namespace {

/// The aggregation path of a run: [aggregate] path, or for auto the one that
/// suits the uplink payload (sparse messages: sparse; integer codes: quantized).
comm::AggregatePath choose_path(const RunConfig& c) {
  using P = comm::AggregatePath;
  using K = compress::UpdateCodecKind;
  switch (c.aggregate.path) {
    case AggregatePathChoice::kDense: return P::kDense;
    case AggregatePathChoice::kSparse: return P::kSparse;
    case AggregatePathChoice::kQuantized: return P::kQuantized;
    case AggregatePathChoice::kAuto: break;
  }
  switch (c.uplink.codec.kind) {
    case K::kTopK:
    case K::kThresholdTopK:
    case K::kRandK: return P::kSparse;
    case K::kQsgd:
    case K::kUniform:
    case K::kSign: return P::kQuantized;
    case K::kIdentity:
    case K::kFp16: break;
  }
  return P::kDense;
}

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

/// The last /model snapshot of a results file (posttrain.input), checked
/// against this run's layout; every failure names posttrain.input.
std::vector<float> read_input_model(const std::string& path, const std::string& layout, std::size_t P) {
  constexpr const char* kKey = "posttrain.input";
  std::vector<float> params;
  std::string theirs;
  try {
    const io::H5Reader in(path);
    if (!in.has("/model/params"))
      throw ConfigError(kKey, "'" + path + "' has no /model/params: not a fedhpc results file");
    theirs = in.string_attribute("/", "model_layout");
    params = in.read<float>("/model/params");
  } catch (const IoError& e) {
    throw ConfigError(kKey, std::string("cannot read a model from '") + path + "': " + e.what());
  }
  if (theirs != layout)
    throw ConfigError(kKey, "'" + path + "' holds a model of layout '" + theirs +
                                "', but [model] here builds '" + layout + "'");
  if (params.size() < P || params.size() % P != 0)
    throw ConfigError(kKey, "'" + path + "' has no complete /model snapshot");
  return {params.end() - static_cast<std::ptrdiff_t>(P), params.end()};
}

/// Rows of /execution/rank_round in a results file before `round` (0 in a
/// file without them).
std::int64_t rank_rows_before(const std::string& path, std::int64_t round) {
  const io::H5Reader in(path);
  if (!in.has("/execution/rank_round")) return 0;
  const auto rounds = in.read<std::int64_t>("/execution/rank_round");
  return std::count_if(rounds.begin(), rounds.end(), [&](std::int64_t r) { return r < round; });
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
  net_->reserve(std::max({cfg_.client.batch_size, kEvalBatch, cfg_.zo.batch}));
  const std::size_t P = net_->layout().size();
  server_ = std::make_unique<ServerStages>(make_server_optimizer(cfg_.server, P));
  // A method plugs in here, once: its store decorator, server stage and phase.
  const std::unique_ptr<prune::Pruning> pruning = prune::make_pruning(cfg_, *net_);
  if (pruning) {
    server_->add(std::move(pruning->stage));
    if (pruning->phase) phases_.push_back(std::move(pruning->phase));
  }
  auto post = posttrain::make_posttrain(cfg_, net_->layout());
  if (post) {
    post_ = post.get();
    server_->add(std::move(post));
  }
  train_rounds_ = cfg_.posttrain.input.empty() ? cfg_.server.rounds : 0;
  total_rounds_ = train_rounds_ + (post_ ? post_->rounds() : 0);
  if (post_) post_->set_first_round(train_rounds_);
  trainer_ = train::make_trainer(cfg_, *net_, [&] {
    std::unique_ptr<train::ParamStore> store = train::make_param_store(cfg_, net_->layout());
    return pruning ? pruning->wrap(std::move(store)) : std::move(store);
  });

  shard_ = std::make_unique<ClientShard>(*data_, cfg_, comm, trainer_.get(), P);
  const auto [t0, t1] = test_rows(data_->test_size(), comm.rank(), comm.size());
  uplink_ = make_uplink(cfg_, net_->layout(), shard_->own());  // residual slots are filled lazily
  // Before the large allocations: refuse a run its nodes cannot hold.
  const RankMemory need = estimate_rank_memory(cfg_, *data_, shard_->own(), t0, t1, P,
                                               uplink_->device_state_bytes(), train_rounds_,
                                               shard_->max_guests());
  if (cfg_.run.memory_check) check_memory_fits(need, comm);
  std::tie(memory_estimate_bytes_, memory_estimate_) = largest_estimate(need, comm);
  allocating(need.terms.front().what, need.terms.front().bytes,
             [&] { data_->materialize(shard_->own(), t0, t1); });
  evaluator_ = std::make_unique<Evaluator>(comm, *net_, data_->test_examples(), data_->test_size());

  model_.resize(P);
  Rng init(cfg_.run.seed, Purpose::kInit);
  net_->init(model_, init);
  if (!cfg_.posttrain.input.empty())
    model_ = read_input_model(cfg_.posttrain.input, describe_layout(net_->layout()), P);
  if (post_)
    validation_ = std::make_unique<FederatedValidation>(comm, *data_, *net_, *shard_, cfg_.run.seed,
                                                        cfg_.posttrain.validation_clients);
  delta_.resize(P);

  // The seams of this run (docs/design.md): chosen here, once (the uplink above).
  if (server_feedback(cfg_.uplink)) {
    compress::UpdateCodecSpec spec = uplink_codec_spec(cfg_, net_->layout());
    spec.unbiased = false;  // contractive, as under client error feedback
    server_->add(std::make_unique<ServerFeedbackStage>(spec, P, cfg_.run.seed));
  }
  if (cfg_.downlink.codec.kind != compress::UpdateCodecKind::kIdentity) {
    compress::UpdateCodecSpec spec = cfg_.downlink.codec;
    spec.unbiased = false;  // contractive: v follows w with server-side error feedback
    server_->add(std::make_unique<DownlinkStage>(spec, P, data_->num_clients(), cfg_.run.seed));
  }
  components_ = {uplink_.get(), server_.get()};
  if (auto* c = trainer_->component()) components_.push_back(c);
  slots_ = {tally_layout_.reserve("loss_sum"), tally_layout_.reserve("examples"),
            tally_layout_.reserve("bytes_up"), tally_layout_.reserve("diverged"),
            tally_layout_.reserve("stop")};
  for (auto* c : components_) c->declare(metrics_, tally_layout_);
  aggregator_ = comm::make_round_aggregator(choose_path(cfg_), P, tally_layout_.size(), cfg_.run.seed,
                                            cfg_.aggregate.dense_threshold);

  if (resume_) {
    const std::string path = cfg_.run.checkpoint_path();
    Checkpoint ck = read_checkpoint(path, effective_ini_);
    const auto* model = ck.state.find("model");
    if (model == nullptr || model->size() != P)
      throw ConfigError("run.checkpoint", "'" + path + "' holds a model of another size");
    if (ck.next_round >= total_rounds_)
      throw ConfigError("run.checkpoint", "'" + path + "' is at the last round already: nothing to resume");
    model_ = *model;
    if (const auto* trained = ck.state.find("posttrain_trained")) trained_ = *trained;
    for (auto* c : components_) c->load(ck.state);
    uplink_->load_shard(path);
    start_round_ = ck.next_round;
    client_rows_ = ck.client_rows;
    snapshots_ = ck.snapshots;
    elapsed_before_ = ck.elapsed_seconds;
  }
}

Simulation::~Simulation() = default;

RoundRecord Simulation::run_round(int round, ClientRows& rows) {
  Stopwatch train_time;
  trainer_->begin_round(round, server_->published(model_));  // downlink: encoded once per round
  const auto sampled = sample_clients(cfg_.run.seed, round, data_->num_clients(), cfg_.clients_per_round());
  RoundRecord rec;
  rec.round = round;
  rec.clients_sampled = static_cast<std::int64_t>(sampled.size());
  const MemoryBreakdown m = trainer_->peak_memory(1);
  rec.param_memory_bytes = static_cast<std::int64_t>(m.params + m.decoded);
  rec.param_memory_ratio = static_cast<double>(rec.param_memory_bytes) / (4.0 * static_cast<double>(model_.size()));
  rec.fp32_weight_fraction = trainer_->fp32_weight_fraction();
  rows.index.clear();
  rows.records.clear();
  metrics_.begin_round();
  aggregator_->begin_round(round);
  fl::RoundTally tally(aggregator_->tail());

  // Local steps and uplink of this rank's clients.
  const DownlinkCost bytes_down = [&](int client) {
    return server_->downlink_bytes(round, client, trainer_->downlink_bytes());
  };
  const std::int64_t trained = shard_->for_each(
      round, sampled, *trainer_, uplink_->device_state_bytes(), bytes_down, rec, uplink_.get(), [&](const ClientVisit& v) {
        rows.index.push_back(static_cast<std::int64_t>(v.index));
        rows.records.push_back(train_client(round, v, tally));
        if (v.status == ClientStatus::kCompleted) {
          ++work_.trained;
          work_.moved_in += shard_->owner(v.client) != comm_->rank() ? 1 : 0;
        }
        const std::size_t row = metrics_.add_client_row();
        for (const auto* c : components_) c->record_client(v.client, row, metrics_);
      });
  time_.train = train_time.seconds();

  const comm::ReduceResult red = aggregate(rec, trained);
  Stopwatch server_time;
  if (red.weight > 0) server_->step(round, delta_, model_);
  else server_->skip();
  time_.server = server_time.seconds();
  for (const auto* c : components_) c->record_round(tally, metrics_);
  record_execution(red.stats, rec);
  return rec;
}

ClientRecord Simulation::train_client(int round, const ClientVisit& v, fl::RoundTally& tally) {
  ClientRecord cr;
  cr.round = round;
  cr.client_id = v.client;
  cr.num_samples = v.samples;
  cr.over_budget = v.over_budget ? 1 : 0;
  cr.peak_memory_bytes = static_cast<std::int64_t>(v.memory.total());
  cr.param_memory_bytes = static_cast<std::int64_t>(v.memory.params + v.memory.decoded);
  cr.memory_budget_bytes = static_cast<std::int64_t>(v.budget);
  cr.bytes_down = v.bytes_down;
  cr.train_loss = std::numeric_limits<double>::quiet_NaN();
  cr.status = static_cast<std::int32_t>(v.status);
  if (v.status != ClientStatus::kCompleted) return cr;

  train::ClientStreams streams(cfg_.run.seed, round, v.client);
  trainer_->prepare_client(v.client, v.samples, v.budget - std::min(v.budget, v.memory.state));
  const train::LocalResult res = trainer_->train(v.examples, streams);
  cr.steps = res.steps;
  cr.flops = v.flops;
  // A diverged client (non-finite loss or parameters, or an update too large
  // to sum exactly) is counted, and nothing of it reaches the model.
  const Sent sent = !res.diverged && comm::fits_fixed(res.loss_sum)
                        ? uplink_->send(round, v.client, v.samples, trainer_->upload())
                        : Sent{};
  if (!sent.ok) {
    cr.status = static_cast<std::int32_t>(ClientStatus::kDiverged);
    tally.add(slots_.diverged, 1);
    return cr;
  }
  aggregator_->add(v.client, v.samples, sent.contribution);
  tally.add_fixed(slots_.loss_sum, comm::to_fixed(res.loss_sum));
  tally.add(slots_.examples, res.examples_seen);
  tally.add(slots_.bytes_up, sent.bytes);
  cr.bytes_up = sent.bytes;
  cr.train_loss = res.loss_sum / static_cast<double>(res.examples_seen);
  return cr;
}

comm::ReduceResult Simulation::aggregate(RoundRecord& rec, std::int64_t trained) {
  fl::RoundTally tally(aggregator_->tail());
  tally.add(slots_.stop, stop_requested() ? 1 : 0);
  for (const auto* c : components_) c->tally(tally);
  // The barrier separates waiting for the slowest rank from the reduction.
  Stopwatch wait_time;
  comm_->barrier();
  time_.wait = wait_time.seconds();
  Stopwatch aggregate_time;
  const comm::ReduceResult red = aggregator_->reduce(*comm_, rec.clients_sampled, delta_);
  time_.aggregate = aggregate_time.seconds();
  stop_ = tally.get(slots_.stop) > 0;
  rec.clients_diverged = tally.get(slots_.diverged);
  rec.clients_completed = trained - rec.clients_diverged;
  rec.examples = tally.get(slots_.examples);
  rec.bytes_up = tally.get(slots_.bytes_up);
  rec.train_loss = rec.examples > 0
                       ? comm::from_fixed(tally.get_fixed(slots_.loss_sum)) / static_cast<double>(rec.examples)
                       : std::numeric_limits<double>::quiet_NaN();
  return red;
}

void Simulation::run_phase(fl::EstimatePhase& phase) {
  const std::size_t P = model_.size();
  // Tail: clients that took part, and the exact sum of their statistics.
  const auto agg = comm::make_round_aggregator(comm::AggregatePath::kDense, P, 2, cfg_.run.seed, 0.0);
  std::vector<float> estimate(P);
  std::vector<double> mean(P, 0.0);
  for (int it = 0; it < phase.iterations(); ++it) {
    const auto sampled = sample_clients(cfg_.run.seed, it, data_->num_clients(), cfg_.clients_per_round());
    RoundRecord counts;  // classification only; the phase writes no rows
    agg->begin_round(it);
    const DownlinkCost bytes_down = [&](int) { return trainer_->downlink_bytes(); };
    shard_->for_each(it, sampled, *trainer_, uplink_->device_state_bytes(), bytes_down, counts, nullptr, [&](const ClientVisit& v) {
      if (v.status != ClientStatus::kCompleted) return;
      Rng rng(cfg_.run.seed, Purpose::kPrune, static_cast<std::uint64_t>(it), static_cast<std::uint64_t>(v.client));
      const double stat = phase.estimate(it, v.examples, model_, rng, estimate);
      // A non-finite estimate or statistic is left out.
      if (!comm::all_fit_weighted(estimate, v.samples) || !comm::fits_fixed(stat)) return;
      agg->add(v.client, v.samples, {estimate, {}});
      agg->tail()[0] += 1;
      agg->tail()[1] += comm::to_fixed(stat);
    });
    agg->reduce(*comm_, static_cast<std::int64_t>(sampled.size()), mean);
    phase.finish(it, mean, static_cast<std::int64_t>(agg->tail()[0]), comm::from_fixed(agg->tail()[1]), model_);
  }
}

void Simulation::record_execution(const comm::AggregateStats& st, RoundRecord& rec) const {
  std::int64_t exec[4] = {st.bytes_sent, st.bytes_received,
                          static_cast<std::int64_t>(current_rss_bytes()),
                          static_cast<std::int64_t>(peak_rss_bytes())};
  comm::allreduce(*comm_, std::span<std::int64_t>(exec), MPI_SUM);
  rec.aggregate_path = static_cast<std::int32_t>(st.path);
  rec.gathered_nnz = st.gathered_nnz;
  rec.mpi_bytes_sent = exec[0];
  rec.mpi_bytes_received = exec[1];
  rec.rss_bytes = exec[2];
  rec.peak_rss_bytes = exec[3];
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
    s.memory_budget_bytes.push_back(static_cast<std::int64_t>(shard_->budget(ci)));
    s.rank.push_back(shard_->owner(ci));
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
  ck.state.put("model", model_);
  if (!trained_.empty()) ck.state.put("posttrain_trained", trained_);
  for (const auto* c : components_) c->save(ck.state);
  write_checkpoint(*comm_, cfg_.run.checkpoint_path(), ck, recorder.part_path(), uplink_->shard());
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
  meta.rounds = total_rounds_;
  meta.model_layout = describe_layout(net_->layout());
  meta.memory_estimate_bytes = static_cast<std::int64_t>(memory_estimate_bytes_);
  meta.memory_estimate = memory_estimate_;
  if (!resume_) {
    // Phases before the rounds, then the stages' view of the initial model;
    // before the results file exists, so an error leaves nothing behind.
    for (auto& phase : phases_) run_phase(*phase);
    server_->start(model_);
  }
  ResumePoint point{start_round_, client_rows_, snapshots_, 0};
  if (resume_) {
    restore_results(*comm_, c.run.checkpoint_path(), c.run.output + ".part");
    point.rank_rows = rank_rows_before(c.run.output + ".part", start_round_);
  }
  Recorder recorder(*comm_, c.run.output, meta, metrics_, resume_ ? &point : nullptr);
  if (!resume_)  // what the phases before the rounds report (a resumed file has it)
    for (const auto& phase : phases_)
      for (const auto& s : phase->series()) recorder.write_phase_series(s.path, s.values);
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
  ClientRows rows;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int r = static_cast<int>(start_round_); r < total_rounds_; ++r) {
    if (fault_.at(comm_->rank(), r))
      throw std::runtime_error("injected fault (FEDHPC_FAULT) on rank " + std::to_string(comm_->rank()) +
                               " at the start of round " + std::to_string(r));
    if (post_ != nullptr && r == train_rounds_ && trained_.empty()) begin_posttrain();
    Stopwatch round_time;
    RoundRecord rec = run_round(r, rows);
    const bool last = r + 1 == total_rounds_;
    rec.test_accuracy = rec.test_loss = nan;
    Stopwatch eval_time;
    if ((r + 1) % c.run.eval_every == 0 || last) {
      const EvalResult e = evaluator_->evaluate(server_->published(model_));
      rec.test_accuracy = e.accuracy;
      rec.test_loss = e.loss;
      summary_.final_accuracy = e.accuracy;
    }
    time_.eval = eval_time.seconds();
    rec.round_seconds = round_time.seconds();
    rec.wall_seconds = elapsed_before_ + total.seconds();
    Stopwatch write_time;
    recorder.write_round(rec, rec.clients_sampled, rows.index, rows.records, metrics_);
    client_rows_ += rec.clients_sampled;
    if ((c.run.snapshot_every > 0 && (r + 1) % c.run.snapshot_every == 0) || last) {
      for (const auto* comp : components_) comp->snapshot(metrics_);
      recorder.write_snapshot(r, server_->published(model_), metrics_);
      ++snapshots_;
    }
    time_.write += write_time.seconds();  // + the checkpoint after the previous round
    recorder.write_phases(r, time_, work_);
    time_ = PhaseSeconds{};
    work_ = RankWork{};
    summary_.client_updates += rec.clients_completed;
    if (c.run.progress && comm_->rank() == 0) print_progress(rec);
    if (last) break;
    const bool periodic = c.run.checkpoint_every > 0 && (r + 1) % c.run.checkpoint_every == 0;
    if (periodic || stop_) {
      Stopwatch checkpoint_time;
      checkpoint(recorder, r + 1, elapsed_before_ + total.seconds());
      time_.write = checkpoint_time.seconds();  // counted in the next round's write
    }
    if (stop_) {
      summary_.seconds = total.seconds();
      return Outcome::kStopped;
    }
  }
  if (post_ != nullptr) {
    if (trained_.empty()) begin_posttrain();
    finish_posttrain(recorder);
  }
  recorder.commit();
  remove_checkpoint(*comm_, c.run.checkpoint_path());
  summary_.seconds = total.seconds();
  return Outcome::kCompleted;
}

void Simulation::begin_posttrain() {
  Stopwatch time;
  trained_ = model_;
  post_->compress(*validation_, model_);
  posttrain_seconds_ += time.seconds();
}

void Simulation::finish_posttrain(Recorder& recorder) {
  Stopwatch time;
  CompressionRecord c;
  c.method = post_->name();
  c.report = post_->finish(*validation_, model_);
  c.validation_before = validation_->evaluate(trained_);
  c.validation_after = validation_->evaluate(model_);
  c.evaluations = validation_->evaluations();
  c.validation_clients = static_cast<std::int64_t>(validation_->clients().size());
  c.validation_examples = validation_->examples();
  const EvalResult before = evaluator_->evaluate(trained_);
  const EvalResult after = evaluator_->evaluate(model_);
  c.test_accuracy_before = before.accuracy;
  c.test_loss_before = before.loss;
  c.test_accuracy_after = after.accuracy;
  c.test_loss_after = after.loss;
  summary_.final_accuracy = after.accuracy;
  for (const auto* comp : components_) comp->snapshot(metrics_);
  c.snapshot = snapshots_;
  recorder.write_snapshot(total_rounds_, model_, metrics_);
  ++snapshots_;
  c.seconds = posttrain_seconds_ + time.seconds();
  recorder.write_compression(c, net_->layout());
  if (cfg_.run.progress && comm_->rank() == 0) {
    const posttrain::StorageSize size = posttrain::storage_size(net_->layout(), c.report.coded);
    std::printf("%s  acc %6.2f%% -> %6.2f%% (validation %6.2f%% -> %6.2f%%)  %.1fx smaller "
                "(%.1fx without codebooks)  %lld evaluations  %s\n",
                c.method.c_str(), 100.0 * before.accuracy, 100.0 * after.accuracy,
                100.0 * c.validation_before.accuracy, 100.0 * c.validation_after.accuracy, size.ratio(),
                size.ratio_without_codebooks(), static_cast<long long>(c.evaluations),
                human_seconds(c.seconds).c_str());
    std::fflush(stdout);
  }
}

void Simulation::print_progress(const RoundRecord& r) const {
  const int total = total_rounds_;
  const double per_round = r.wall_seconds / static_cast<double>(r.round + 1);
  const double eta = per_round * static_cast<double>(total - r.round - 1);
  char acc[48];
  if (std::isnan(r.test_accuracy)) std::snprintf(acc, sizeof acc, "acc      -  loss      -");
  else std::snprintf(acc, sizeof acc, "acc %6.2f%%  loss %6.4f", 100.0 * r.test_accuracy, r.test_loss);
  std::printf("round %*lld/%d  %s  train %6.4f  clients %lld/%lld  up %s  down %s  elapsed %s  eta %s\n",
              static_cast<int>(std::to_string(total).size()), static_cast<long long>(r.round + 1),
              total, acc, r.train_loss, static_cast<long long>(r.clients_completed),
              static_cast<long long>(r.clients_sampled), format_bytes(static_cast<double>(r.bytes_up)).c_str(),
              format_bytes(static_cast<double>(r.bytes_down)).c_str(), human_seconds(r.wall_seconds).c_str(),
              human_seconds(eta).c_str());
  std::fflush(stdout);
}

}  // namespace fedhpc::sim
