#include "fedhpc/sim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>

#include "fedhpc/comm/collectives.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/process_memory.hpp"
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
  // Error feedback needs a contractive compressor: rand-k then sends its kept
  // values unscaled (scaled by n/k the residual would grow without bound).
  spec.unbiased = u.error_feedback == ErrorFeedback::kNone;
  return compress::make_update_codec(spec);
}

// Tail of the round accumulator, after the P model entries.
enum Tail : std::size_t {
  kWeight, kLossSum, kExamples, kBytesUp, kDiverged, kStop, kResidualBytes, kStateful, kTailSize
};

/// The [uplink] residual storage as a residual-store spec.
compress::ResidualSpec residual_spec(const UplinkSection& u) {
  using F = compress::ResidualForm;
  compress::ResidualSpec spec;
  switch (u.residual) {
    case ResidualStorage::kFp32: spec.form = F::kFp32; break;
    case ResidualStorage::kFp16: spec.form = F::kFp16; break;
    case ResidualStorage::kInt8: spec.form = F::kInt8; break;
    case ResidualStorage::kSparse: spec.form = F::kSparse; break;
  }
  spec.sparse_ratio = u.residual_ratio;
  spec.int8_block = static_cast<std::size_t>(u.residual_block);
  return spec;
}

/// The aggregation path of a run: [aggregate] path, or for auto the one that
/// suits the uplink payload (sparse messages: sparse; integer codes: quantized).
comm::AggregatePath choose_path(const RunConfig& c) {
  using P = comm::AggregatePath;
  switch (c.aggregate.path) {
    case AggregatePathChoice::kDense: return P::kDense;
    case AggregatePathChoice::kSparse: return P::kSparse;
    case AggregatePathChoice::kQuantized: return P::kQuantized;
    case AggregatePathChoice::kAuto: break;
  }
  switch (c.uplink.codec) {
    case UplinkCodec::kTopK:
    case UplinkCodec::kThresholdTopK:
    case UplinkCodec::kRandK: return P::kSparse;
    case UplinkCodec::kQsgd:
    case UplinkCodec::kUniform:
    case UplinkCodec::kSign: return P::kQuantized;
    case UplinkCodec::kNone:
    case UplinkCodec::kFp16: break;
  }
  return P::kDense;
}

bool client_feedback(const UplinkSection& u) {
  return u.error_feedback == ErrorFeedback::kClient || u.error_feedback == ErrorFeedback::kBoth;
}
bool server_feedback_on(const UplinkSection& u) {
  return u.error_feedback == ErrorFeedback::kServer || u.error_feedback == ErrorFeedback::kBoth;
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
  path_ = choose_path(cfg_);
  if (uplink_) update_.resize(P);
  if (uplink_ || path_ == comm::AggregatePath::kQuantized) decoded_.resize(P);
  if (path_ == comm::AggregatePath::kSparse) touched_.assign(P, 0);
  if (path_ == comm::AggregatePath::kQuantized) codes_.resize(P);
  slot_of_.assign(static_cast<std::size_t>(n), -1);
  for (int c : mine) {
    slot_of_[static_cast<std::size_t>(c)] = static_cast<std::int32_t>(slot_client_.size());
    slot_client_.push_back(c);
  }
  if (client_feedback(cfg_.uplink)) {
    const compress::ResidualSpec spec = residual_spec(cfg_.uplink);
    residuals_ = std::make_unique<compress::ResidualStore>(spec, P, mine.size());
    state_bytes_ = compress::residual_bytes(spec, P, compress::kept_count(P, spec.sparse_ratio));
  }
  if (server_feedback_on(cfg_.uplink)) server_residual_.assign(P, 0.0f);

  if (resume_) {
    Checkpoint ck = read_checkpoint(cfg_.run.checkpoint_path(), effective_ini_);
    const auto state = server_->state();
    if (ck.model.size() != P || ck.server_state.size() != state.size())
      throw ConfigError("run.checkpoint", "'" + cfg_.run.checkpoint_path() +
                                              "' holds a model of another size");
    if (ck.next_round >= cfg_.server.rounds)
      throw ConfigError("run.checkpoint", "'" + cfg_.run.checkpoint_path() +
                                              "' is at the last round already: nothing to resume");
    if (ck.server_residual.size() != server_residual_.size())
      throw ConfigError("run.checkpoint", "'" + cfg_.run.checkpoint_path() +
                                              "' holds server error-feedback state of another size");
    model_ = std::move(ck.model);
    server_residual_ = std::move(ck.server_residual);
    if (residuals_) read_shard_state(cfg_.run.checkpoint_path(), slot_of_, *residuals_);
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
    bytes_up = trainer_->uplink_bytes();
    for (std::size_t j = 0; j < P; ++j)
      if (!comm::fits_fixed(static_cast<double>(local_[j]) - model_[j])) return false;
    if (path_ == comm::AggregatePath::kQuantized) {
      for (std::size_t j = 0; j < P; ++j) decoded_[j] = local_[j] - model_[j];
      return accumulate(client, weight);
    }
    for (std::size_t j = 0; j < P; ++j)
      acc_[j] += weight * comm::to_fixed(static_cast<double>(local_[j]) - static_cast<double>(model_[j]));
    if (path_ == comm::AggregatePath::kSparse)
      for (std::size_t j = 0; j < P; ++j)
        if (local_[j] != model_[j]) touch(j);
    return true;
  }
  // The update (plus the client's residual) goes through the uplink codec
  // (keyed stream); the server adds what it decodes; the rest is the new residual.
  for (std::size_t j = 0; j < P; ++j) {
    update_[j] = local_[j] - model_[j];
    if (!comm::fits_fixed(update_[j])) return false;
  }
  const std::size_t slot = residuals_ ? static_cast<std::size_t>(slot_of_[static_cast<std::size_t>(client)]) : 0;
  if (residuals_) {
    residuals_->add_to(slot, update_);
    for (std::size_t j = 0; j < P; ++j)
      if (!comm::fits_fixed(update_[j])) return false;
  }
  Rng rng(cfg_.run.seed, Purpose::kUplink, static_cast<std::uint64_t>(round),
          static_cast<std::uint64_t>(client));
  bytes_up = static_cast<std::int64_t>(uplink_->encode(update_, rng, message_));
  uplink_->decode(message_, decoded_);
  for (std::size_t j = 0; j < P; ++j)
    if (!comm::fits_fixed(decoded_[j])) return false;
  if (residuals_) {
    for (std::size_t j = 0; j < P; ++j) update_[j] -= decoded_[j];
    Rng rr(cfg_.run.seed, Purpose::kResidual, static_cast<std::uint64_t>(round),
           static_cast<std::uint64_t>(client));
    residuals_->store(slot, update_, rr);
  }
  return accumulate(client, weight);
}

bool Simulation::accumulate(int client, std::int64_t weight) {
  const std::size_t P = model_.size();
  switch (path_) {
    case comm::AggregatePath::kDense:
      for (std::size_t j = 0; j < P; ++j) acc_[j] += weight * comm::to_fixed(decoded_[j]);
      break;
    case comm::AggregatePath::kSparse:
      for (std::size_t j = 0; j < P; ++j) {
        if (decoded_[j] == 0.0f) continue;
        acc_[j] += weight * comm::to_fixed(decoded_[j]);
        touch(j);
      }
      break;
    case comm::AggregatePath::kQuantized: {
      // Kept (compressed) until the ranks agree on the grid: see aggregate().
      if (pending_count_ == pending_.size()) pending_.emplace_back();
      Pending& p = pending_[pending_count_++];
      p.client = client;
      p.weight = weight;
      if (uplink_) {
        p.msg.kind = message_.kind;
        p.msg.n = message_.n;
        p.msg.kept = message_.kept;
        p.msg.bitmask = message_.bitmask;
        p.msg.bytes.assign(message_.bytes.begin(), message_.bytes.end());
      } else {
        p.msg.n = P;
        p.msg.bytes.resize(P * sizeof(float));
        std::memcpy(p.msg.bytes.data(), decoded_.data(), P * sizeof(float));
      }
      const double w = static_cast<double>(weight);
      for (std::size_t j = 0; j < P; ++j) pending_max_ = std::max(pending_max_, std::fabs(w * decoded_[j]));
      break;
    }
  }
  return true;
}

comm::AggregateStats Simulation::aggregate(int round, std::int64_t sampled) {
  const std::size_t P = model_.size();
  const std::span<comm::Fixed> all(acc_);
  comm::AggregateStats st;
  double scale = 0.0;
  if (path_ == comm::AggregatePath::kDense) {
    st = comm::sum_dense(*comm_, all);  // model and tail in one call
  } else {
    const auto tail = all.subspan(P);
    comm::allreduce_exact(*comm_, tail);
    const auto tail_bytes = static_cast<std::int64_t>(tail.size_bytes());
    if (path_ == comm::AggregatePath::kSparse) {
      std::sort(support_.begin(), support_.end());
      st = comm::sum_sparse(*comm_, all.first(P), support_, cfg_.aggregate.dense_threshold,
                           sparse_scratch_);
      for (const auto j : support_) touched_[j] = 0;
      support_.clear();
    } else {
      // Shared grid: scale = (max over all messages of |w x|) / L with
      // L = floor((2^31 - 1) / sampled), so no int32 sum can overflow; each
      // message is rounded onto it stochastically (keyed, unbiased).
      st.path = comm::AggregatePath::kQuantized;
      const double gmax = comm::agree_max(*comm_, pending_max_, &st);
      const double levels = static_cast<double>(std::numeric_limits<std::int32_t>::max() /
                                                std::max<std::int64_t>(1, sampled));
      scale = gmax > 0.0 ? gmax / levels : 0.0;
      std::fill(codes_.begin(), codes_.end(), 0);
      for (std::size_t i = 0; i < pending_count_ && scale > 0.0; ++i) {
        const Pending& p = pending_[i];
        if (uplink_) uplink_->decode(p.msg, decoded_);
        else std::memcpy(decoded_.data(), p.msg.bytes.data(), P * sizeof(float));
        Rng rng(cfg_.run.seed, Purpose::kAggregate, static_cast<std::uint64_t>(round),
                static_cast<std::uint64_t>(p.client));
        const double f = static_cast<double>(p.weight) / scale;
        for (std::size_t j = 0; j < P; ++j) {
          const double y = f * decoded_[j];
          const double lo = std::floor(y);
          codes_[j] += static_cast<std::int32_t>(lo) + (rng.uniform() < y - lo ? 1 : 0);
        }
      }
      const comm::AggregateStats q = comm::sum_codes(*comm_, codes_);
      st.bytes_sent += q.bytes_sent;
      st.bytes_received += q.bytes_received;
      pending_count_ = 0;
      pending_max_ = 0.0;
    }
    st.bytes_sent += tail_bytes;
    st.bytes_received += tail_bytes;
  }
  const auto weight = static_cast<std::int64_t>(acc_[P + kWeight]);
  if (weight > 0) {
    const double inv = 1.0 / static_cast<double>(weight);
    if (path_ == comm::AggregatePath::kQuantized)
      for (std::size_t j = 0; j < P; ++j) delta_[j] = static_cast<double>(codes_[j]) * scale * inv;
    else
      for (std::size_t j = 0; j < P; ++j) delta_[j] = comm::from_fixed(acc_[j]) * inv;
  }
  return st;
}

std::int64_t Simulation::server_feedback(int round) {
  const std::size_t P = model_.size();
  for (std::size_t j = 0; j < P; ++j) update_[j] = static_cast<float>(delta_[j]) + server_residual_[j];
  Rng rng(cfg_.run.seed, Purpose::kUplink, static_cast<std::uint64_t>(round),
          std::numeric_limits<std::uint64_t>::max());
  const auto bytes = static_cast<std::int64_t>(uplink_->encode(update_, rng, message_));
  uplink_->decode(message_, decoded_);
  for (std::size_t j = 0; j < P; ++j) {
    server_residual_[j] = update_[j] - decoded_[j];
    delta_[j] = decoded_[j];
  }
  return bytes;
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
    MemoryBreakdown mem = trainer_->peak_memory(n);
    mem.state = state_bytes_;
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
    if (residuals_) cr.residual_bytes = static_cast<std::int64_t>(
        residuals_->bytes(static_cast<std::size_t>(slot_of_[static_cast<std::size_t>(c)])));
    my_rows.push_back(static_cast<std::int64_t>(i));
    mine.push_back(cr);
  }

  acc_[P + kStop] = stop_requested() ? 1 : 0;
  if (residuals_) {
    acc_[P + kResidualBytes] = static_cast<comm::Fixed>(residuals_->total_bytes());
    acc_[P + kStateful] = static_cast<comm::Fixed>(residuals_->stored_slots());
  }
  const comm::AggregateStats st = aggregate(round, rec.clients_sampled);
  stop_ = acc_[P + kStop] > 0;

  const auto weight = static_cast<std::int64_t>(acc_[P + kWeight]);
  rec.clients_diverged = static_cast<std::int64_t>(acc_[P + kDiverged]);
  rec.clients_completed = trained - rec.clients_diverged;
  rec.examples = static_cast<std::int64_t>(acc_[P + kExamples]);
  rec.bytes_up = static_cast<std::int64_t>(acc_[P + kBytesUp]);
  rec.residual_bytes = static_cast<std::int64_t>(acc_[P + kResidualBytes]);
  rec.stateful_clients = static_cast<std::int64_t>(acc_[P + kStateful]);
  rec.train_loss = rec.examples > 0 ? comm::from_fixed(acc_[P + kLossSum]) / static_cast<double>(rec.examples)
                                    : std::numeric_limits<double>::quiet_NaN();
  if (weight > 0) {
    if (!server_residual_.empty()) rec.server_update_bytes = server_feedback(round);
    server_->step(model_, delta_);
  }
  // Execution figures, summed over ranks (one small extra reduction).
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
  ck.server_residual = server_residual_;
  const auto state = server_->state();
  ck.server_state.assign(state.begin(), state.end());
  const ShardState shard{residuals_.get(), slot_client_};
  write_checkpoint(*comm_, cfg_.run.checkpoint_path(), ck, recorder.part_path(), shard);
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
