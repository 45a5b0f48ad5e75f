#include "fedhpc/sim/recorder.hpp"

#include <unistd.h>

#include <algorithm>

#include "fedhpc/compress/bit_pack.hpp"
#include "fedhpc/core/isa.hpp"
#include "fedhpc/posttrain/codebook.hpp"
#include "fedhpc/version.hpp"

namespace fedhpc::sim {

/// The per-rank phase series, in PhaseSeconds order.
constexpr const char* kPhases[] = {"train_seconds", "wait_seconds", "aggregate_seconds",
                                   "server_seconds", "eval_seconds", "write_seconds"};
namespace {

/// Extracts one field of every record into a contiguous column.
template <class T, class Rec, class F>
std::vector<T> column(std::span<const Rec> recs, F field) {
  std::vector<T> out;
  out.reserve(recs.size());
  for (const auto& r : recs) out.push_back(static_cast<T>(field(r)));
  return out;
}

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

Recorder::Recorder(const comm::Communicator& comm, const std::string& path, const RunMetadata& meta,
                   const fl::Metrics& metrics, const ResumePoint* resume)
    : comm_(&comm),
      creating_(resume == nullptr),
      part_path_(path + ".part"),
      file_(comm, path, resume ? io::ResultsFile::Mode::kReopen : io::ResultsFile::Mode::kCreate),
      num_clients_(meta.num_clients),
      num_classes_(meta.num_classes),
      num_params_(meta.num_params) {
  if (creating_) {
    file_.set_attribute("/", "fedhpc_version", std::string(kVersion));
    file_.set_attribute("/", "git_sha", std::string(kGitSha));
    file_.set_attribute("/", "config", meta.config_ini);
    file_.set_attribute("/", "seed", static_cast<std::int64_t>(meta.seed));
    file_.set_attribute("/", "num_clients", meta.num_clients);
    file_.set_attribute("/", "num_params", meta.num_params);
    file_.set_attribute("/", "num_classes", meta.num_classes);
    file_.set_attribute("/", "clients_per_round", meta.clients_per_round);
    file_.set_attribute("/", "rounds", meta.rounds);
    file_.set_attribute("/", "model_layout", meta.model_layout);
    // Everything that depends on how the run was executed (rank count, host,
    // timings) lives under /execution, so results compare with
    // h5diff --exclude-path /execution.
    for (const char* g : {"/execution", "/rounds", "/clients", "/model", "/client_info"})
      file_.create_group(g);
  }
  file_.set_attribute("/execution", "num_ranks", static_cast<std::int64_t>(comm.size()));
  file_.set_attribute("/execution", "hostname", hostname());
  file_.set_attribute("/execution", "build_arch", std::string(kBuildArch));  // -DFEDHPC_ARCH
  file_.set_attribute("/execution", "isa", build_isa());  // the extensions the build's code uses
  file_.set_attribute("/execution", "config", meta.execution_ini);
  file_.set_attribute("/execution", "memory_estimate_bytes", meta.memory_estimate_bytes);
  file_.set_attribute("/execution", "memory_estimate", meta.memory_estimate);

  const std::size_t k = static_cast<std::size_t>(meta.clients_per_round);
  series<double>("/execution/wall_seconds", Axis::kRound, 0, 1);
  series<double>("/execution/round_seconds", Axis::kRound, 0, 1);
  series<std::int32_t>("/execution/client_row_rank", Axis::kClientRow, 0, k);
  series<std::int32_t>("/execution/aggregate_path", Axis::kRound, 0, 1);
  const auto ranks = static_cast<std::size_t>(comm.size());
  series<std::int64_t>("/execution/rank_round", Axis::kRankRow, 0, ranks);
  series<std::int32_t>("/execution/rank", Axis::kRankRow, 0, ranks);
  for (const char* name : kPhases) series<double>(std::string("/execution/") + name, Axis::kRankRow, 0, ranks);
  series<std::int64_t>("/execution/clients_trained", Axis::kRankRow, 0, ranks);
  series<std::int64_t>("/execution/clients_moved_in", Axis::kRankRow, 0, ranks);
  for (const char* name : {"gathered_nnz", "mpi_bytes_sent", "mpi_bytes_received", "rss_bytes",
                           "peak_rss_bytes"})
    series<std::int64_t>(std::string("/execution/") + name, Axis::kRound, 0, 1);
  for (const char* name : {"round", "clients_sampled", "clients_completed", "clients_dropped",
                           "clients_over_budget", "clients_diverged", "bytes_up", "bytes_down",
                           "examples", "peak_memory_max", "param_memory_bytes"})
    series<std::int64_t>(std::string("/rounds/") + name, Axis::kRound, 0, 1);
  for (const char* name :
       {"test_accuracy", "test_loss", "train_loss", "flops", "param_memory_ratio", "fp32_weight_fraction"})
    series<double>(std::string("/rounds/") + name, Axis::kRound, 0, 1);
  for (const char* name : {"round", "client_id", "num_samples", "steps", "bytes_up", "bytes_down",
                           "peak_memory_bytes", "param_memory_bytes", "memory_budget_bytes"})
    series<std::int64_t>(std::string("/clients/") + name, Axis::kClientRow, 0, k);
  series<std::int32_t>("/clients/status", Axis::kClientRow, 0, k);
  series<std::int32_t>("/clients/over_budget", Axis::kClientRow, 0, k);
  series<double>("/clients/train_loss", Axis::kClientRow, 0, k);
  series<double>("/clients/flops", Axis::kClientRow, 0, k);
  for (const auto& s : metrics.series()) {
    const Axis axis = s.axis == fl::Axis::kRound ? Axis::kRound : Axis::kClientRow;
    const std::size_t chunk = s.axis == fl::Axis::kRound ? 1 : k;
    if (s.integer) series<std::int64_t>(s.path, axis, 0, chunk);
    else series<double>(s.path, axis, 0, chunk);
  }
  series<std::int64_t>("/model/round", Axis::kSnapshot, 0, 1);
  series<float>("/model/params", Axis::kSnapshot, static_cast<std::size_t>(meta.num_params), 1);
  for (const auto& snap : metrics.snapshot_series())
    series<std::uint8_t>(snap, Axis::kSnapshot, static_cast<std::size_t>(meta.num_params), 1);

  if (resume) {
    for (const auto& s : series_) {
      const std::int64_t rows = s.axis == Axis::kRound       ? resume->rounds
                                : s.axis == Axis::kClientRow ? resume->client_rows
                                : s.axis == Axis::kRankRow   ? resume->rank_rows
                                                             : resume->snapshots;
      file_.truncate(s.path, rows);
    }
  }
}

template <class T>
void Recorder::series(const std::string& path, Axis axis, std::size_t cols, std::size_t chunk) {
  if (creating_) file_.create_series<T>(path, cols, chunk);
  series_.push_back({path, axis});
}

void Recorder::flush() { file_.flush(); }

void Recorder::write_client_info(const ClientInfoSlice& s) {
  file_.write_block<std::int64_t>("/client_info/client_id", num_clients_, 0, s.first, s.client_id);
  file_.write_block<std::int64_t>("/client_info/num_samples", num_clients_, 0, s.first, s.num_samples);
  file_.write_block<std::int64_t>("/client_info/memory_budget_bytes", num_clients_, 0, s.first,
                                  s.memory_budget_bytes);
  file_.write_block<std::int64_t>("/client_info/label_histogram", num_clients_,
                                  static_cast<std::size_t>(num_classes_), s.first,
                                  s.label_histogram);
  file_.write_block<std::int64_t>("/execution/client_rank", num_clients_, 0, s.first, s.rank);
}

void Recorder::write_round(const RoundRecord& r, std::int64_t sampled,
                           std::span<const std::int64_t> my_rows,
                           std::span<const ClientRecord> mine, const fl::Metrics& metrics) {
  // Summary row: rank 0 writes it, the others take part with empty selections.
  const std::int64_t zero = 0;
  const bool root = comm_->rank() == 0;
  const std::span<const std::int64_t> row0 = root ? std::span<const std::int64_t>(&zero, 1)
                                                  : std::span<const std::int64_t>();
  auto put_i = [&](const std::string& name, std::int64_t v) {
    const std::string path = name[0] == '/' ? name : "/rounds/" + name;
    file_.append<std::int64_t>(path, 1, row0, {&v, root ? 1u : 0u});
  };
  auto put_d = [&](const std::string& path, double v) {
    file_.append<double>(path, 1, row0, {&v, root ? 1u : 0u});
  };
  put_i("round", r.round);
  put_i("clients_sampled", r.clients_sampled);
  put_i("clients_completed", r.clients_completed);
  put_i("clients_dropped", r.clients_dropped);
  put_i("clients_over_budget", r.clients_over_budget);
  put_i("clients_diverged", r.clients_diverged);
  put_i("bytes_up", r.bytes_up);
  put_i("bytes_down", r.bytes_down);
  put_i("examples", r.examples);
  put_i("peak_memory_max", r.peak_memory_max);
  put_i("param_memory_bytes", r.param_memory_bytes);
  file_.append<std::int32_t>("/execution/aggregate_path", 1, row0,
                             {&r.aggregate_path, root ? 1u : 0u});
  put_i("/execution/gathered_nnz", r.gathered_nnz);
  put_i("/execution/mpi_bytes_sent", r.mpi_bytes_sent);
  put_i("/execution/mpi_bytes_received", r.mpi_bytes_received);
  put_i("/execution/rss_bytes", r.rss_bytes);
  put_i("/execution/peak_rss_bytes", r.peak_rss_bytes);
  put_d("/rounds/test_accuracy", r.test_accuracy);
  put_d("/rounds/test_loss", r.test_loss);
  put_d("/rounds/train_loss", r.train_loss);
  put_d("/rounds/flops", r.flops);
  put_d("/rounds/param_memory_ratio", r.param_memory_ratio);
  put_d("/rounds/fp32_weight_fraction", r.fp32_weight_fraction);
  put_d("/execution/wall_seconds", r.wall_seconds);
  put_d("/execution/round_seconds", r.round_seconds);

  // Client rows: each rank writes its own clients at their positions.
  auto put_ci = [&](const char* name, auto field) {
    file_.append<std::int64_t>(std::string("/clients/") + name, sampled, my_rows,
                               column<std::int64_t>(mine, field));
  };
  put_ci("round", [](const ClientRecord& c) { return c.round; });
  put_ci("client_id", [](const ClientRecord& c) { return c.client_id; });
  put_ci("num_samples", [](const ClientRecord& c) { return c.num_samples; });
  put_ci("steps", [](const ClientRecord& c) { return c.steps; });
  put_ci("bytes_up", [](const ClientRecord& c) { return c.bytes_up; });
  put_ci("bytes_down", [](const ClientRecord& c) { return c.bytes_down; });
  put_ci("peak_memory_bytes", [](const ClientRecord& c) { return c.peak_memory_bytes; });
  put_ci("param_memory_bytes", [](const ClientRecord& c) { return c.param_memory_bytes; });
  put_ci("memory_budget_bytes", [](const ClientRecord& c) { return c.memory_budget_bytes; });
  file_.append<std::int32_t>("/clients/status", sampled, my_rows,
                             column<std::int32_t>(mine, [](const ClientRecord& c) { return c.status; }));
  file_.append<std::int32_t>("/clients/over_budget", sampled, my_rows,
                             column<std::int32_t>(mine, [](const ClientRecord& c) { return c.over_budget; }));
  file_.append<double>("/clients/train_loss", sampled, my_rows,
                       column<double>(mine, [](const ClientRecord& c) { return c.train_loss; }));
  file_.append<double>("/clients/flops", sampled, my_rows,
                       column<double>(mine, [](const ClientRecord& c) { return c.flops; }));
  // Declared series: round values by rank 0, client values at this rank's rows.
  const auto& specs = metrics.series();
  for (std::size_t id = 0; id < specs.size(); ++id) {
    const auto& s = specs[id];
    if (s.axis == fl::Axis::kRound) {
      if (s.integer) put_i(s.path, metrics.ints(id)[0]);
      else put_d(s.path, metrics.reals(id)[0]);
    } else if (s.integer) {
      file_.append<std::int64_t>(s.path, sampled, my_rows, metrics.ints(id));
    } else {
      file_.append<double>(s.path, sampled, my_rows, metrics.reals(id));
    }
  }
  const std::vector<std::int32_t> ranks(mine.size(), comm_->rank());
  file_.append<std::int32_t>("/execution/client_row_rank", sampled, my_rows, ranks);
}

void Recorder::write_phases(std::int64_t round, const PhaseSeconds& mine, const RankWork& work) {
  const auto n = static_cast<std::int64_t>(comm_->size());
  const std::int64_t row = comm_->rank();
  const std::span<const std::int64_t> at(&row, 1);
  const std::int32_t rank = comm_->rank();
  file_.append<std::int64_t>("/execution/rank_round", n, at, {&round, 1});
  file_.append<std::int32_t>("/execution/rank", n, at, {&rank, 1});
  const double values[] = {mine.train, mine.wait, mine.aggregate, mine.server, mine.eval, mine.write};
  for (std::size_t i = 0; i < std::size(kPhases); ++i)
    file_.append<double>(std::string("/execution/") + kPhases[i], n, at, {&values[i], 1});
  file_.append<std::int64_t>("/execution/clients_trained", n, at, {&work.trained, 1});
  file_.append<std::int64_t>("/execution/clients_moved_in", n, at, {&work.moved_in, 1});
}

void Recorder::write_snapshot(std::int64_t round, std::span<const float> params,
                              const fl::Metrics& metrics) {
  const bool root = comm_->rank() == 0;
  const std::int64_t zero = 0;
  const std::span<const std::int64_t> row0 = root ? std::span<const std::int64_t>(&zero, 1)
                                                  : std::span<const std::int64_t>();
  file_.append<std::int64_t>("/model/round", 1, row0, {&round, root ? 1u : 0u});
  file_.append<float>("/model/params", 1, row0, root ? params : std::span<const float>());
  for (std::size_t id = 0; id < metrics.snapshot_series().size(); ++id) {
    const auto& v = metrics.snapshot_values(id);
    file_.append<std::uint8_t>(metrics.snapshot_series()[id], 1, row0,
                               root ? std::span<const std::uint8_t>(v) : std::span<const std::uint8_t>());
  }
}

void Recorder::write_phase_series(const std::string& path, const std::vector<double>& values) {
  for (std::size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
    const std::string group = path.substr(0, at);
    if (std::find(groups_.begin(), groups_.end(), group) == groups_.end()) {
      file_.create_group(group);
      groups_.push_back(group);
    }
  }
  const bool root = comm_->rank() == 0;
  file_.write_block<double>(path, static_cast<std::int64_t>(values.size()), 0, 0,
                            root ? std::span<const double>(values) : std::span<const double>());
}

void Recorder::write_compression(const CompressionRecord& c, const model::ParamLayout& layout) {
  const bool root = comm_->rank() == 0;
  // Rank 0 writes every row of a small fixed dataset.
  auto block = [&](const std::string& path, auto values, std::size_t cols) {
    using T = typename decltype(values)::value_type;
    const std::size_t width = std::max<std::size_t>(1, cols);
    file_.write_block<T>(path, static_cast<std::int64_t>(values.size() / width), cols, 0,
                         root ? std::span<const T>(values) : std::span<const T>());
  };
  const posttrain::StorageSize size = posttrain::storage_size(layout, c.report.coded);
  file_.create_group("/compression");
  file_.set_attribute("/compression", "method", c.method);
  file_.set_attribute("/compression", "snapshot", c.snapshot);
  file_.set_attribute("/compression", "validation_clients", c.validation_clients);
  file_.set_attribute("/compression", "validation_examples", c.validation_examples);
  file_.write_scalar("/compression/ratio", size.ratio());
  file_.write_scalar("/compression/ratio_without_codebooks", size.ratio_without_codebooks());
  file_.write_scalar("/compression/bits_per_weight", 32.0 / size.ratio());
  file_.write_scalar("/compression/accuracy_before", c.test_accuracy_before);
  file_.write_scalar("/compression/accuracy_after", c.test_accuracy_after);
  file_.write_scalar("/compression/loss_before", c.test_loss_before);
  file_.write_scalar("/compression/loss_after", c.test_loss_after);
  file_.write_scalar("/compression/validation_accuracy_before", c.validation_before.accuracy);
  file_.write_scalar("/compression/validation_accuracy_after", c.validation_after.accuracy);
  file_.write_scalar("/compression/validation_loss_before", c.validation_before.loss);
  file_.write_scalar("/compression/validation_loss_after", c.validation_after.loss);
  file_.write_scalar("/compression/evaluations", c.evaluations);
  file_.write_scalar("/compression/code_bits", size.code_bits);
  file_.write_scalar("/compression/codebook_bits", size.codebook_bits);
  file_.write_scalar("/compression/fp32_bits", size.plain_bits);
  file_.write_scalar("/execution/compression_seconds", c.seconds);
  block("/compression/bits_per_weight_layer", size.bits_per_weight, 0);
  file_.create_group("/compression/layers");
  for (const auto& v : c.report.coded) {
    const std::string g = "/compression/layers/" + layout.var(v.var).name;
    file_.create_group(g);
    file_.set_attribute(g, "bits", static_cast<std::int64_t>(v.bits));
    file_.set_attribute(g, "block", static_cast<std::int64_t>(v.block));
    file_.set_attribute(g, "entries", static_cast<std::int64_t>(v.codebook.size() / static_cast<std::size_t>(v.block)));
    file_.set_attribute(g, "size", static_cast<std::int64_t>(layout.var(v.var).size));
    file_.set_attribute(g, "codebook_affine", static_cast<std::int64_t>(v.codebook_affine ? 1 : 0));
    block(g + "/codebook", v.codebook, static_cast<std::size_t>(v.block));
    std::vector<std::uint8_t> packed(compress::packed_bytes(v.codes.size(), v.bits));
    compress::pack_bits(v.codes.data(), v.codes.size(), v.bits, reinterpret_cast<std::byte*>(packed.data()));
    block(g + "/codes", packed, 0);
  }
  const auto& t = c.report.trace;
  file_.create_group("/compression/trace");
  block("/compression/trace/var", column<std::int32_t>(std::span(t), [](const auto& s) { return s.var; }), 0);
  block("/compression/trace/bins", column<std::int32_t>(std::span(t), [](const auto& s) { return s.bins; }), 0);
  block("/compression/trace/split", column<std::int32_t>(std::span(t), [](const auto& s) { return s.split; }), 0);
  block("/compression/trace/accuracy", column<double>(std::span(t), [](const auto& s) { return s.accuracy; }), 0);
  block("/compression/trace/loss", column<double>(std::span(t), [](const auto& s) { return s.loss; }), 0);
}

void Recorder::commit() { file_.commit(); }

}  // namespace fedhpc::sim
