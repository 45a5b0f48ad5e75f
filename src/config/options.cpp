#include "fedhpc/config/options.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <sstream>

#include "fedhpc/core/error.hpp"

namespace po = boost::program_options;

namespace fedhpc {

double UplinkSection::ratio_at(int round) const noexcept {
  if (round >= warmup_rounds || warmup_ratio <= codec.ratio) return codec.ratio;
  // Geometric from warmup_ratio at round 0 towards ratio at round warmup_rounds.
  return warmup_ratio * std::pow(codec.ratio / warmup_ratio, static_cast<double>(round) / warmup_rounds);
}

int RunConfig::clients_per_round() const {
  if (server.clients_per_round > 0) return server.clients_per_round;
  const double k = std::round(server.client_fraction * data.num_clients);
  return std::max(1, static_cast<int>(k));
}

namespace {

// ---- value parsers: each names the key and what was expected -------------

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

long long parse_int(const std::string& key, const std::string& raw, long long lo, long long hi) {
  const std::string s = trim(raw);
  long long v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty())
    throw ConfigError(key, "expected an integer in [" + std::to_string(lo) + ", " +
                               std::to_string(hi) + "], got '" + raw + "'");
  if (v < lo || v > hi)
    throw ConfigError(key, "value " + s + " is out of range, expected [" + std::to_string(lo) +
                               ", " + std::to_string(hi) + "]");
  return v;
}

std::string fmt(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

/// Real in [lo, hi] (or (lo, hi] when lo_open).
double parse_real(const std::string& key, const std::string& raw, double lo, double hi,
                  bool lo_open = false) {
  const std::string s = trim(raw);
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const std::string range = std::string(lo_open ? "(" : "[") + fmt(lo) + ", " + fmt(hi) + "]";
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || !std::isfinite(v))
    throw ConfigError(key, "expected a number in " + range + ", got '" + raw + "'");
  if (v < lo || v > hi || (lo_open && v == lo))
    throw ConfigError(key, "value " + s + " is out of range, expected " + range);
  return v;
}

bool parse_bool(const std::string& key, const std::string& raw) {
  std::string s = trim(raw);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  throw ConfigError(key, "expected true or false, got '" + raw + "'");
}

template <class E>
E parse_enum(const std::string& key, const std::string& raw,
             std::initializer_list<std::pair<const char*, E>> names) {
  const std::string s = trim(raw);
  std::string valid;
  for (const auto& [name, value] : names) {
    if (s == name) return value;
    valid += valid.empty() ? name : std::string(", ") + name;
  }
  throw ConfigError(key, "expected one of {" + valid + "}, got '" + raw + "'");
}

compress::Rounding parse_rounding(const std::string& key, const std::string& raw) {
  using R = compress::Rounding;
  return parse_enum<R>(key, raw, {{"stochastic", R::kStochastic}, {"nearest", R::kNearest}});
}

/// Real in [0, 1).
double parse_real_below_one(const std::string& key, const std::string& raw) {
  const double v = parse_real(key, raw, 0.0, 1.0);
  if (v >= 1.0) throw ConfigError(key, "value " + trim(raw) + " is out of range, expected [0, 1)");
  return v;
}

compress::UpdateCodecKind parse_codec(const std::string& key, const std::string& raw) {
  using K = compress::UpdateCodecKind;
  return parse_enum<K>(key, raw,
                       {{"none", K::kIdentity},
                        {"topk", K::kTopK},
                        {"threshold_topk", K::kThresholdTopK},
                        {"randk", K::kRandK},
                        {"qsgd", K::kQsgd},
                        {"uniform", K::kUniform},
                        {"sign", K::kSign},
                        {"fp16", K::kFp16}});
}

compress::ValueGrid parse_grid(const std::string& key, const std::string& raw) {
  using G = compress::ValueGrid;
  return parse_enum<G>(key, raw, {{"range", G::kRange}, {"sign_magnitude", G::kSignMagnitude}});
}

compress::IndexCoding parse_index_coding(const std::string& key, const std::string& raw) {
  using I = compress::IndexCoding;
  return parse_enum<I>(key, raw, {{"fixed", I::kFixed}, {"rice", I::kRice}});
}

std::vector<int> parse_int_list(const std::string& key, const std::string& raw, int lo, int hi) {
  std::vector<int> out;
  std::stringstream ss(raw);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(static_cast<int>(parse_int(key, item, lo, hi)));
  if (out.empty() || trim(raw).empty())
    throw ConfigError(key, "expected a comma-separated list of integers in [" +
                               std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + raw +
                               "'");
  return out;
}

// ---- the option table ------------------------------------------------------

struct Option {
  const char* key;
  const char* default_value;
  const char* help;
  std::function<void(RunConfig&, const std::string& key, const std::string& value)> apply;
};

constexpr long long kMaxInt = 2147483647;

const std::vector<Option>& option_table() {
  using S = const std::string&;
  static const std::vector<Option> table = {
      // [run]
      {"run.seed", "1", "seed of every random stream (uint64)",
       [](RunConfig& c, S k, S v) {
         c.run.seed = static_cast<std::uint64_t>(parse_int(k, v, 0, 9223372036854775807LL));
       }},
      {"run.output", "results/fedhpc.h5", "results file (HDF5); its directory must exist",
       [](RunConfig& c, S k, S v) {
         if (trim(v).empty()) throw ConfigError(k, "expected a file path, got an empty value");
         c.run.output = trim(v);
       }},
      {"run.overwrite", "false", "replace an existing results file (only once the run succeeds)",
       [](RunConfig& c, S k, S v) { c.run.overwrite = parse_bool(k, v); }},
      {"run.eval_every", "5", "evaluate on the test set every k rounds (and after the last)",
       [](RunConfig& c, S k, S v) { c.run.eval_every = parse_int(k, v, 1, kMaxInt); }},
      {"run.snapshot_every", "0", "store the server model every k rounds in /model (0: final only)",
       [](RunConfig& c, S k, S v) { c.run.snapshot_every = parse_int(k, v, 0, kMaxInt); }},
      {"run.progress", "true", "rank 0 prints one progress line per round",
       [](RunConfig& c, S k, S v) { c.run.progress = parse_bool(k, v); }},
      {"run.checkpoint", "", "checkpoint file (empty: <run.output>.ckpt); resume with --resume",
       [](RunConfig& c, S k, S v) { c.run.checkpoint = trim(v); }},
      {"run.checkpoint_every", "0",
       "checkpoint every k rounds (0: only on SIGTERM/SIGUSR1, which stop the run with exit code 3)",
       [](RunConfig& c, S k, S v) { c.run.checkpoint_every = parse_int(k, v, 0, kMaxInt); }},
      {"run.memory_check", "true",
       "refuse a run whose estimated memory exceeds what its node (or ulimit -v) leaves, exit 2",
       [](RunConfig& c, S k, S v) { c.run.memory_check = parse_bool(k, v); }},
      {"run.balance", "round",
       "round: each round's trained clients are balanced over the ranks by modelled cost (a few move, "
       "with their examples and state) | shard: every client trains on the rank that owns it; same results",
       [](RunConfig& c, S k, S v) {
         c.run.balance = parse_enum<Balance>(k, v, {{"round", Balance::kRound}, {"shard", Balance::kShard}});
       }},
      // [data]
      {"data.source", "fashion_mnist", "fashion_mnist | hdf5 | synthetic",
       [](RunConfig& c, S k, S v) {
         c.data.source = parse_enum<DataSource>(k, v,
                                                {{"fashion_mnist", DataSource::kFashionMnist},
                                                 {"hdf5", DataSource::kHdf5},
                                                 {"synthetic", DataSource::kSynthetic}});
       }},
      {"data.path", "/usr/share/datasets/fashion-mnist",
       "Fashion-MNIST IDX directory, or HDF5 file (flat /train,/test or per-client /clients/<id>)",
       [](RunConfig& c, S k, S v) { c.data.path = trim(v); }},
      {"data.num_clients", "1000", "number of simulated clients",
       [](RunConfig& c, S k, S v) { c.data.num_clients = parse_int(k, v, 1, 100000000); }},
      {"data.partition", "dirichlet", "iid | dirichlet (label skew) | shards (k classes) | quantity",
       [](RunConfig& c, S k, S v) {
         c.data.partition = parse_enum<PartitionKind>(k, v,
                                                      {{"iid", PartitionKind::kIid},
                                                       {"dirichlet", PartitionKind::kDirichlet},
                                                       {"shards", PartitionKind::kShards},
                                                       {"quantity", PartitionKind::kQuantity}});
       }},
      {"data.alpha", "0.5", "Dirichlet concentration of the label skew (> 0)",
       [](RunConfig& c, S k, S v) { c.data.alpha = parse_real(k, v, 0.0, 1e6, true); }},
      {"data.classes_per_client", "2", "classes per client for partition = shards",
       [](RunConfig& c, S k, S v) { c.data.classes_per_client = parse_int(k, v, 1, 100000); }},
      {"data.quantity_sigma", "1.0", "lognormal sigma of client sizes for partition = quantity",
       [](RunConfig& c, S k, S v) { c.data.quantity_sigma = parse_real(k, v, 0.0, 10.0); }},
      {"data.min_samples", "2", "every client holds at least this many training examples",
       [](RunConfig& c, S k, S v) { c.data.min_samples = parse_int(k, v, 1, kMaxInt); }},
      {"data.synthetic_alpha", "1.0", "FedProx Synthetic(alpha, beta): model heterogeneity",
       [](RunConfig& c, S k, S v) { c.data.synthetic_alpha = parse_real(k, v, 0.0, 100.0); }},
      {"data.synthetic_beta", "1.0", "FedProx Synthetic(alpha, beta): data heterogeneity",
       [](RunConfig& c, S k, S v) { c.data.synthetic_beta = parse_real(k, v, 0.0, 100.0); }},
      {"data.synthetic_test_size", "10000", "test examples of the synthetic dataset",
       [](RunConfig& c, S k, S v) {
         c.data.synthetic_test_size = parse_int(k, v, 1, 100000000);
       }},
      // [model]
      {"model.arch", "lenet5", "lenet5 | mlp",
       [](RunConfig& c, S k, S v) {
         c.model.arch = parse_enum<Arch>(k, v, {{"lenet5", Arch::kLeNet5}, {"mlp", Arch::kMlp}});
       }},
      {"model.hidden", "200,200", "MLP hidden layer widths, comma-separated",
       [](RunConfig& c, S k, S v) { c.model.hidden = parse_int_list(k, v, 1, 1 << 20); }},
      // [client]
      {"client.trainer", "backprop",
       "backprop (minibatch SGD) | zo (BAFFLE-style: K seeded loss differences, 4K + 16 bytes up) | fedzo "
       "(local ZO-SGD steps) | auto (backprop where the client's memory budget holds it, zo elsewhere)",
       [](RunConfig& c, S k, S v) {
         c.client.trainer = parse_enum<ClientTrainer>(
             k, v, {{"backprop", ClientTrainer::kBackprop}, {"zo", ClientTrainer::kZo}, {"fedzo", ClientTrainer::kFedZo},
                    {"auto", ClientTrainer::kAuto}});
       }},
      {"client.lr", "0.05", "local SGD learning rate",
       [](RunConfig& c, S k, S v) { c.client.lr = parse_real(k, v, 0.0, 100.0, true); }},
      {"client.momentum", "0", "local SGD momentum",
       [](RunConfig& c, S k, S v) { c.client.momentum = parse_real(k, v, 0.0, 0.999999); }},
      {"client.weight_decay", "0", "local L2 weight decay",
       [](RunConfig& c, S k, S v) { c.client.weight_decay = parse_real(k, v, 0.0, 1.0); }},
      {"client.epochs", "1", "local epochs (when client.steps = 0)",
       [](RunConfig& c, S k, S v) { c.client.epochs = parse_int(k, v, 1, 100000); }},
      {"client.steps", "0", "local minibatch steps (> 0 overrides client.epochs)",
       [](RunConfig& c, S k, S v) { c.client.steps = parse_int(k, v, 0, kMaxInt); }},
      {"client.batch_size", "16", "local minibatch size",
       [](RunConfig& c, S k, S v) { c.client.batch_size = parse_int(k, v, 1, 65536); }},
      {"client.prox_mu", "0", "FedProx proximal coefficient mu (0: plain FedAvg client)",
       [](RunConfig& c, S k, S v) { c.client.prox_mu = parse_real(k, v, 0.0, 1e6); }},
      {"client.dropout", "0", "probability that a sampled client drops out of the round",
       [](RunConfig& c, S k, S v) { c.client.dropout = parse_real(k, v, 0.0, 1.0); }},
      {"client.budget", "fixed", "memory budget distribution: fixed | uniform | lognormal",
       [](RunConfig& c, S k, S v) {
         c.client.budget = parse_enum<BudgetDist>(k, v,
                                                  {{"fixed", BudgetDist::kFixed},
                                                   {"uniform", BudgetDist::kUniform},
                                                   {"lognormal", BudgetDist::kLogNormal}});
       }},
      {"client.budget_mb", "64", "fixed budget, or the median of the lognormal budget (MiB)",
       [](RunConfig& c, S k, S v) { c.client.budget_mb = parse_real(k, v, 0.0, 1e9, true); }},
      {"client.budget_min_mb", "1", "lower bound of the uniform budget (MiB)",
       [](RunConfig& c, S k, S v) { c.client.budget_min_mb = parse_real(k, v, 0.0, 1e9, true); }},
      {"client.budget_max_mb", "64", "upper bound of the uniform budget (MiB)",
       [](RunConfig& c, S k, S v) { c.client.budget_max_mb = parse_real(k, v, 0.0, 1e9, true); }},
      {"client.budget_sigma", "0.5", "sigma of the lognormal budget",
       [](RunConfig& c, S k, S v) { c.client.budget_sigma = parse_real(k, v, 0.0, 10.0); }},
      {"client.over_budget", "skip",
       "client whose modelled peak memory exceeds its budget: skip (recorded) | allow (train, flagged)",
       [](RunConfig& c, S k, S v) {
         c.client.over_budget = parse_enum<OverBudget>(
             k, v, {{"skip", OverBudget::kSkip}, {"allow", OverBudget::kAllow}});
       }},
      // [zo]
      {"zo.directions", "20", "zo, fedzo: random directions K per estimate",
       [](RunConfig& c, S k, S v) { c.zo.directions = parse_int(k, v, 1, 1000000); }},
      {"zo.sigma", "0.001", "zo, fedzo: perturbation scale sigma (FedZO's mu)",
       [](RunConfig& c, S k, S v) { c.zo.sigma = parse_real(k, v, 0.0, 1.0, true); }},
      {"zo.differences", "forward", "zo, fedzo: forward | central differences",
       [](RunConfig& c, S k, S v) {
         c.zo.differences = parse_enum<ZoDifferences>(k, v, {{"forward", ZoDifferences::kForward},
                                                             {"central", ZoDifferences::kCentral}});
       }},
      {"zo.clip", "0.3", "zo: each client's estimate is clipped to |g|_inf <= clip (by the server, which forms it)",
       [](RunConfig& c, S k, S v) { c.zo.clip = parse_real(k, v, 0.0, 1e9, true); }},
      {"zo.batch", "16",
       "zo: examples per forward pass; a client holds this many examples' activations and redraws its "
       "directions once per pass (1: least memory, larger: faster simulation)",
       [](RunConfig& c, S k, S v) { c.zo.batch = parse_int(k, v, 1, 4096); }},
      {"zo.local_steps", "5", "fedzo: local ZO-SGD steps H",
       [](RunConfig& c, S k, S v) { c.zo.local_steps = parse_int(k, v, 1, 1000000); }},
      // [server]
      {"server.rounds", "100", "number of federated rounds",
       [](RunConfig& c, S k, S v) { c.server.rounds = parse_int(k, v, 1, 100000000); }},
      {"server.clients_per_round", "0", "clients sampled per round (0: use server.client_fraction)",
       [](RunConfig& c, S k, S v) { c.server.clients_per_round = parse_int(k, v, 0, 100000000); }},
      {"server.client_fraction", "0.05", "fraction of clients sampled per round",
       [](RunConfig& c, S k, S v) {
         c.server.client_fraction = parse_real(k, v, 0.0, 1.0, true);
       }},
      {"server.optimizer", "fedavg", "fedavg | fedavgm | fedadam | fedyogi",
       [](RunConfig& c, S k, S v) {
         c.server.optimizer = parse_enum<ServerOpt>(k, v,
                                                    {{"fedavg", ServerOpt::kFedAvg},
                                                     {"fedavgm", ServerOpt::kFedAvgM},
                                                     {"fedadam", ServerOpt::kFedAdam},
                                                     {"fedyogi", ServerOpt::kFedYogi}});
       }},
      {"server.lr", "1.0", "server learning rate",
       [](RunConfig& c, S k, S v) { c.server.lr = parse_real(k, v, 0.0, 1e3, true); }},
      {"server.momentum", "0.9", "FedAvgM server momentum",
       [](RunConfig& c, S k, S v) { c.server.momentum = parse_real(k, v, 0.0, 0.999999); }},
      {"server.beta1", "0.9", "FedAdam/FedYogi first-moment decay",
       [](RunConfig& c, S k, S v) { c.server.beta1 = parse_real(k, v, 0.0, 0.999999); }},
      {"server.beta2", "0.99", "FedAdam/FedYogi second-moment decay",
       [](RunConfig& c, S k, S v) { c.server.beta2 = parse_real(k, v, 0.0, 0.999999); }},
      {"server.tau", "0.001", "FedAdam/FedYogi adaptivity (epsilon)",
       [](RunConfig& c, S k, S v) { c.server.tau = parse_real(k, v, 0.0, 10.0, true); }},
      // [storage]
      {"storage.codec", "fp32",
       "client parameter storage and broadcast codec (OMC): fp32 | int (b-bit) | float (e, m)",
       [](RunConfig& c, S k, S v) {
         using C = compress::StorageSpec::Codec;
         c.storage.codec =
             parse_enum<C>(k, v, {{"fp32", C::kFp32}, {"int", C::kInt}, {"float", C::kFloat}});
       }},
      {"storage.bits", "8", "bits per quantized parameter for codec = int",
       [](RunConfig& c, S k, S v) { c.storage.bits = parse_int(k, v, 2, 16); }},
      {"storage.exponent_bits", "4", "exponent bits for codec = float",
       [](RunConfig& c, S k, S v) { c.storage.exponent_bits = parse_int(k, v, 2, 8); }},
      {"storage.mantissa_bits", "3", "mantissa bits for codec = float",
       [](RunConfig& c, S k, S v) { c.storage.mantissa_bits = parse_int(k, v, 0, 23); }},
      {"storage.pvt", "false", "per-variable transformation (x - mean) / max|x - mean| before quantizing",
       [](RunConfig& c, S k, S v) { c.storage.pvt = parse_bool(k, v); }},
      {"storage.weights_only", "false", "WMOQ: quantize only weight matrices and conv kernels",
       [](RunConfig& c, S k, S v) { c.storage.weights_only = parse_bool(k, v); }},
      {"storage.fp32_fraction", "0", "PPQ: fraction of weight parameters kept fp32, redrawn each round",
       [](RunConfig& c, S k, S v) { c.storage.fp32_fraction = parse_real(k, v, 0.0, 1.0); }},
      {"storage.ppq_granularity", "rows",
       "PPQ unit kept fp32: rows (blocks of whole rows, 8-aligned) | variables (whole weight variables)",
       [](RunConfig& c, S k, S v) {
         using G = compress::StorageSpec::PpqGranularity;
         c.storage.ppq_granularity = parse_enum<G>(k, v, {{"rows", G::kRows}, {"variables", G::kVariables}});
       }},
      {"storage.rounding", "stochastic", "rounding when re-encoding after local steps: stochastic | nearest",
       [](RunConfig& c, S k, S v) {
         c.storage.rounding = parse_rounding(k, v);
       }},
      {"storage.transport_rounding", "nearest", "rounding when encoding the broadcast: stochastic | nearest",
       [](RunConfig& c, S k, S v) {
         c.storage.transport_rounding = parse_rounding(k, v);
       }},
      {"storage.uplink", "encoded", "what clients send back: encoded (stored form) | fp32",
       [](RunConfig& c, S k, S v) {
         c.storage.uplink = parse_enum<UplinkFormat>(
             k, v, {{"encoded", UplinkFormat::kEncoded}, {"fp32", UplinkFormat::kFp32}});
       }},
      {"storage.decode_tile", "4096",
       "elements decoded at a time by encoded storage (0: whole variables); the transient buffer",
       [](RunConfig& c, S k, S v) {
         c.storage.decode_tile = parse_int(k, v, 0, kMaxInt);
         if (c.storage.decode_tile != 0 && c.storage.decode_tile < 8)
           throw ConfigError(k, "expected 0 (whole variables) or at least 8, got " + trim(v));
       }},
      // [uplink]
      {"uplink.codec", "none",
       "client update compression: none | topk | threshold_topk | randk | qsgd | uniform | sign | fp16",
       [](RunConfig& c, S k, S v) { c.uplink.codec.kind = parse_codec(k, v); }},
      {"uplink.ratio", "0.01", "fraction of coordinates kept by topk, threshold_topk and randk",
       [](RunConfig& c, S k, S v) { c.uplink.codec.ratio = parse_real(k, v, 0.0, 1.0, true); }},
      {"uplink.quantize_bits", "0", "bits of the kept values of sparse codecs (0: fp32)",
       [](RunConfig& c, S k, S v) { c.uplink.codec.quantize_bits = parse_int(k, v, 0, 16); }},
      {"uplink.value_grid", "range",
       "grid of quantized kept values (uplink.quantize_bits > 0): range (uniform over [min, max]) | "
       "sign_magnitude (a sign bit, levels over [min |v|, max |v|])",
       [](RunConfig& c, S k, S v) { c.uplink.codec.value_grid = parse_grid(k, v); }},
      {"uplink.index_coding", "fixed",
       "support of the sparse codecs: fixed (bit_width(n-1) bits per index, or a bitmask) | rice "
       "(Rice-coded gaps between indices)",
       [](RunConfig& c, S k, S v) { c.uplink.codec.index_coding = parse_index_coding(k, v); }},
      {"uplink.topk_scope", "global", "topk: choose the k largest entries over the whole update (global) or in every variable (layer)",
       [](RunConfig& c, S k, S v) {
         using T = compress::TopKScope;
         c.uplink.codec.scope = parse_enum<T>(k, v, {{"global", T::kGlobal}, {"layer", T::kLayer}});
       }},
      {"uplink.warmup_rounds", "0",
       "sparse codecs: rounds of density warm-up (DGC): the kept fraction falls geometrically from "
       "uplink.warmup_ratio to uplink.ratio (0: none)",
       [](RunConfig& c, S k, S v) { c.uplink.warmup_rounds = static_cast<int>(parse_int(k, v, 0, kMaxInt)); }},
      {"uplink.warmup_ratio", "0.25", "kept fraction of the first warm-up round",
       [](RunConfig& c, S k, S v) { c.uplink.warmup_ratio = parse_real(k, v, 0.0, 1.0, true); }},
      {"uplink.sample_size", "4096", "threshold_topk: elements sampled to estimate the threshold",
       [](RunConfig& c, S k, S v) { c.uplink.codec.sample_size = static_cast<std::size_t>(parse_int(k, v, 1, kMaxInt)); }},
      {"uplink.levels", "15", "qsgd: quantization levels s",
       [](RunConfig& c, S k, S v) { c.uplink.codec.levels = parse_int(k, v, 1, 65535); }},
      {"uplink.bucket_size", "512", "qsgd: elements per bucket norm",
       [](RunConfig& c, S k, S v) { c.uplink.codec.bucket_size = static_cast<std::size_t>(parse_int(k, v, 1, kMaxInt)); }},
      {"uplink.bits", "8", "uniform: bits per coordinate",
       [](RunConfig& c, S k, S v) { c.uplink.codec.bits = parse_int(k, v, 1, 16); }},
      {"uplink.error_feedback", "none",
       "error feedback: none | client (residual kept per client in the shard) | server (on the "
       "aggregate) | both | ef21 (client state g_i in the shard; sends C(update - g_i))",
       [](RunConfig& c, S k, S v) {
         c.uplink.error_feedback = parse_enum<ErrorFeedback>(k, v,
                                                             {{"none", ErrorFeedback::kNone},
                                                              {"client", ErrorFeedback::kClient},
                                                              {"server", ErrorFeedback::kServer},
                                                              {"both", ErrorFeedback::kBoth},
                                                              {"ef21", ErrorFeedback::kEf21}});
       }},
      {"uplink.residual_decay", "1",
       "client error feedback: a residual stored `age` rounds ago is scaled by residual_decay^age "
       "before it is added (1: kept as it is)",
       [](RunConfig& c, S k, S v) { c.uplink.residual_decay = parse_real(k, v, 0.0, 1.0, false); }},
      {"uplink.residual_max_age", "0",
       "client error feedback: a residual stored more than this many rounds ago is dropped (0: never)",
       [](RunConfig& c, S k, S v) { c.uplink.residual_max_age = static_cast<int>(parse_int(k, v, 0, kMaxInt)); }},
      {"uplink.residual", "fp32",
       "storage of client residuals: fp32 | fp16 | int8 | sparse | sparse16 (top entries, fp16 values, 16-bit indices)",
       [](RunConfig& c, S k, S v) {
         using F = compress::ResidualForm;
         c.uplink.residual.form = parse_enum<F>(
             k, v, {{"fp32", F::kFp32}, {"fp16", F::kFp16}, {"int8", F::kInt8}, {"sparse", F::kSparse},
                    {"sparse16", F::kSparse16}});
       }},
      {"uplink.residual_ratio", "0.1", "sparse and sparse16 residuals: fraction of largest entries kept",
       [](RunConfig& c, S k, S v) { c.uplink.residual.sparse_ratio = parse_real(k, v, 0.0, 1.0, true); }},
      {"uplink.residual_block", "256", "int8 residuals: elements sharing one scale",
       [](RunConfig& c, S k, S v) { c.uplink.residual.int8_block = static_cast<std::size_t>(parse_int(k, v, 1, kMaxInt)); }},
      // [downlink]
      {"downlink.codec", "none",
       "broadcast compression (EF21-P: the server sends C(w - v), clients and server set v += sent, "
       "clients train from v): none | topk | threshold_topk | randk | qsgd | uniform | sign | fp16",
       [](RunConfig& c, S k, S v) { c.downlink.codec.kind = parse_codec(k, v); }},
      {"downlink.ratio", "0.01", "fraction of coordinates kept by a sparse downlink codec",
       [](RunConfig& c, S k, S v) { c.downlink.codec.ratio = parse_real(k, v, 0.0, 1.0, true); }},
      {"downlink.quantize_bits", "0", "bits of the kept values of a sparse downlink codec (0: fp32)",
       [](RunConfig& c, S k, S v) { c.downlink.codec.quantize_bits = parse_int(k, v, 0, 16); }},
      {"downlink.value_grid", "range", "grid of quantized kept values of the downlink: range | sign_magnitude",
       [](RunConfig& c, S k, S v) { c.downlink.codec.value_grid = parse_grid(k, v); }},
      {"downlink.index_coding", "fixed", "support of a sparse downlink codec: fixed | rice",
       [](RunConfig& c, S k, S v) { c.downlink.codec.index_coding = parse_index_coding(k, v); }},
      {"downlink.levels", "15", "qsgd downlink: quantization levels s",
       [](RunConfig& c, S k, S v) { c.downlink.codec.levels = parse_int(k, v, 1, 65535); }},
      {"downlink.bits", "8", "uniform downlink: bits per coordinate",
       [](RunConfig& c, S k, S v) { c.downlink.codec.bits = parse_int(k, v, 1, 16); }},
      // [aggregate]
      {"aggregate.path", "auto",
       "how ranks combine their sums: auto | dense | sparse | quantized (auto: sparse for "
       "topk/threshold_topk/randk, quantized for qsgd/uniform/sign, dense otherwise)",
       [](RunConfig& c, S k, S v) {
         c.aggregate.path = parse_enum<AggregatePathChoice>(
             k, v,
             {{"auto", AggregatePathChoice::kAuto},
              {"dense", AggregatePathChoice::kDense},
              {"sparse", AggregatePathChoice::kSparse},
              {"quantized", AggregatePathChoice::kQuantized}});
       }},
      {"aggregate.dense_threshold", "0.5",
       "sparse path: switch to dense when the gathered support (sum over ranks) exceeds this "
       "fraction of the parameters",
       [](RunConfig& c, S k, S v) { c.aggregate.dense_threshold = parse_real(k, v, 0.0, 1e9); }},
      // [prune]
      {"prune.method", "none",
       "pruning of conv and linear weights: none | feddip | magnitude (no feedback) | snip | random | "
       "ntk (federated NTK-SAP foresight pruning)",
       [](RunConfig& c, S k, S v) {
         c.prune.method = parse_enum<PruneMethod>(k, v,
                                                  {{"none", PruneMethod::kNone},
                                                   {"feddip", PruneMethod::kFedDip},
                                                   {"magnitude", PruneMethod::kMagnitude},
                                                   {"snip", PruneMethod::kSnip},
                                                   {"random", PruneMethod::kRandom},
                                                   {"ntk", PruneMethod::kNtk}});
       }},
      {"prune.sparsity", "0.9", "final sparsity s_p of the prunable weights, in [0, 1)",
       [](RunConfig& c, S k, S v) { c.prune.sparsity = parse_real_below_one(k, v); }},
      {"prune.initial_sparsity", "0.5",
       "sparsity s_0 at round 0 of the cubic schedule (feddip, magnitude), in [0, 1)",
       [](RunConfig& c, S k, S v) { c.prune.initial_sparsity = parse_real_below_one(k, v); }},
      {"prune.interval", "5", "feddip, magnitude: recompute the mask every f rounds",
       [](RunConfig& c, S k, S v) { c.prune.interval = parse_int(k, v, 1, kMaxInt); }},
      {"prune.mode", "code",
       "code (server re-zeroes pruned weights) | dpf_server (server keeps the dense model, "
       "broadcasts w*m; weights can regrow)",
       [](RunConfig& c, S k, S v) {
         c.prune.mode = parse_enum<PruneMode>(
             k, v, {{"code", PruneMode::kCode}, {"dpf_server", PruneMode::kDpfServer}});
       }},
      {"prune.lambda_init", "0.0005", "feddip: regularization of staircase segment 1",
       [](RunConfig& c, S k, S v) { c.prune.lambda_init = parse_real(k, v, 0.0, 1e3); }},
      {"prune.lambda_max", "0.001", "feddip: regularization staircase end point",
       [](RunConfig& c, S k, S v) { c.prune.lambda_max = parse_real(k, v, 0.0, 1e3); }},
      {"prune.segments", "20", "feddip: staircase segments Q (segment 0 has no regularization)",
       [](RunConfig& c, S k, S v) { c.prune.segments = parse_int(k, v, 2, 1000000); }},
      {"prune.scope", "global",
       "feddip, magnitude re-pruning: global (one magnitude ranking over all weights, the paper) | "
       "erk (each layer keeps its largest weights at its ERK density)",
       [](RunConfig& c, S k, S v) {
         c.prune.scope = parse_enum<PruneScope>(k, v, {{"global", PruneScope::kGlobal}, {"erk", PruneScope::kErk}});
       }},
      {"prune.schedule_end", "1",
       "feddip, magnitude: the sparsity schedule reaches prune.sparsity after this fraction of the "
       "rounds and stays there (1: over all rounds, as the paper)",
       [](RunConfig& c, S k, S v) { c.prune.schedule_end = parse_real(k, v, 0.0, 1.0, true); }},
      {"prune.lr_decay", "0.998", "with pruning: client learning rate lr * lr_decay^round",
       [](RunConfig& c, S k, S v) { c.prune.lr_decay = parse_real(k, v, 0.0, 1.0, true); }},
      {"prune.ntk_iterations", "20", "ntk: federated scoring iterations T; iteration t keeps (1 - sparsity)^(t/T)",
       [](RunConfig& c, S k, S v) { c.prune.ntk_iterations = parse_int(k, v, 1, 100000); }},
      {"prune.ntk_resamples", "5", "ntk: re-initialisations (theta_r, Delta_r from server seeds) per client and iteration",
       [](RunConfig& c, S k, S v) { c.prune.ntk_resamples = parse_int(k, v, 1, 100000); }},
      {"prune.ntk_input", "noise", "ntk: noise (N(0, 1) inputs, data-free) | data (a minibatch of the client's data)",
       [](RunConfig& c, S k, S v) {
         c.prune.ntk_input = parse_enum<NtkInput>(k, v, {{"noise", NtkInput::kNoise}, {"data", NtkInput::kData}});
       }},
      // [posttrain]
      {"posttrain.method", "none",
       "compress the trained model: none | binquant (Bin & Quant, no retraining) | binquant_grad "
       "(splits the bin with the largest sum |grad|) | gwk (gradient-weighted k-means + federated "
       "fine-tuning)",
       [](RunConfig& c, S k, S v) {
         c.posttrain.method = parse_enum<PosttrainMethod>(k, v,
                                                          {{"none", PosttrainMethod::kNone},
                                                           {"binquant", PosttrainMethod::kBinQuant},
                                                           {"binquant_grad", PosttrainMethod::kBinQuantGrad},
                                                           {"gwk", PosttrainMethod::kGwk}});
       }},
      {"posttrain.input", "",
       "results file whose last /model snapshot is compressed instead of training (empty: train, "
       "then compress this run's model)",
       [](RunConfig& c, S, S v) { c.posttrain.input = trim(v); }},
      {"posttrain.max_drop", "1", "binquant: accepted drop of federated validation accuracy (points)",
       [](RunConfig& c, S k, S v) { c.posttrain.max_drop = parse_real(k, v, 0.0, 100.0); }},
      {"posttrain.max_bins", "32", "binquant: bins per layer at which splitting stops",
       [](RunConfig& c, S k, S v) { c.posttrain.max_bins = parse_int(k, v, 4, 65536); }},
      {"posttrain.bits", "5", "gwk: clusters per layer k = 2^bits",
       [](RunConfig& c, S k, S v) { c.posttrain.bits = parse_int(k, v, 1, 12); }},
      {"posttrain.block", "6", "gwk: sub-vector length b_s (tensors under 1000 weights are not clustered: 8-bit grid)",
       [](RunConfig& c, S k, S v) { c.posttrain.block = parse_int(k, v, 1, 64); }},
      {"posttrain.codebook_bits", "16",
       "gwk: centroids stored as fp16 (16) or fp32 (32); the model uses the stored values",
       [](RunConfig& c, S k, S v) {
         c.posttrain.codebook_bits = static_cast<int>(parse_int(k, v, 16, 32));
         if (c.posttrain.codebook_bits != 16 && c.posttrain.codebook_bits != 32)
           throw ConfigError(k, "expected 16 or 32, got '" + v + "'");
       }},
      {"posttrain.rounds", "20", "gwk: federated fine-tuning rounds after clustering",
       [](RunConfig& c, S k, S v) { c.posttrain.rounds = parse_int(k, v, 0, kMaxInt); }},
      {"posttrain.snap_every", "1", "gwk: snap weights to the centroids every k fine-tuning rounds",
       [](RunConfig& c, S k, S v) { c.posttrain.snap_every = parse_int(k, v, 1, kMaxInt); }},
      {"posttrain.validation_clients", "100",
       "clients of the fixed federated validation sample (they evaluate on their own data)",
       [](RunConfig& c, S k, S v) { c.posttrain.validation_clients = parse_int(k, v, 1, kMaxInt); }},
  };
  return table;
}

/// Keys that say where and how output is written, not what is computed.
bool is_execution_key(const std::string& key) {
  return key == "run.output" || key == "run.overwrite" || key == "run.progress" ||
         key == "run.checkpoint" || key == "run.checkpoint_every" || key == "run.memory_check" ||
         key == "run.balance";
}

po::options_description describe() {
  po::options_description desc;
  for (const auto& o : option_table())
    desc.add_options()(o.key, po::value<std::string>()->default_value(o.default_value), o.help);
  return desc;
}

}  // namespace

std::string help_text() {
  std::ostringstream out;
  out << "usage: mpirun -np N fedhpc [--config FILE] [--section.key value ...]\n\n"
         "  --config FILE   INI experiment file ([section] key = value)\n"
         "  --help          this text\n"
         "  --check         validate the configuration, print it, and exit\n"
         "  --resume        continue the run from its checkpoint (run.checkpoint)\n"
         "  --version       version and git revision\n\n"
         "Every option below can be set in the file or on the command line\n"
         "(--section.key value); the command line wins. Defaults in brackets.\n";
  std::string section;
  for (const auto& o : option_table()) {
    const std::string key = o.key;
    const std::string sec = key.substr(0, key.find('.'));
    if (sec != section) {
      out << "\n[" << sec << "]\n";
      section = sec;
    }
    std::string left = "  --" + key + " [" + o.default_value + "]";
    if (left.size() < 44) left.resize(44, ' ');
    else left += "\n" + std::string(44, ' ');
    out << left << o.help << "\n";
  }
  out << "\nexit codes: 0 success, 1 runtime failure, 2 bad usage/config/input,\n"
         "            3 stopped by SIGTERM/SIGUSR1 after writing a checkpoint (use --resume)\n";
  return out.str();
}

ParsedArgs parse_args(int argc, const char* const* argv) {
  ParsedArgs out;
  po::options_description generic;
  generic.add_options()("help,h", "")("version", "")("check", "")("resume", "")(
      "config", po::value<std::string>(), "");
  po::options_description keys = describe();
  po::options_description all;
  all.add(generic).add(keys);

  po::variables_map vm;
  try {
    // Bare words (say, an INI file without --config) are collected to be refused below.
    po::options_description words;
    words.add_options()("positional", po::value<std::vector<std::string>>(), "");
    po::options_description parse;
    parse.add(all).add(words);
    po::store(po::command_line_parser(argc, argv).options(parse).positional(
                  po::positional_options_description().add("positional", -1)).run(), vm);
  } catch (const po::unknown_option& e) {
    std::string name = e.get_option_name();
    while (!name.empty() && name.front() == '-') name.erase(0, 1);
    throw ConfigError(name, "unknown option (see fedhpc --help)");
  } catch (const po::error& e) {
    throw ConfigError("", std::string("command line: ") + e.what());
  }
  if (vm.count("positional"))
    throw ConfigError("", "unexpected argument '" + vm["positional"].as<std::vector<std::string>>().front() +
                              "': options are --section.key value, and an experiment file is passed as "
                              "--config FILE");
  if (vm.count("help")) {
    out.help = true;
    return out;
  }
  if (vm.count("version")) {
    out.version = true;
    return out;
  }
  if (vm.count("config")) {
    out.config_file = vm["config"].as<std::string>();
    std::ifstream in(out.config_file);
    if (!in) throw ConfigError("--config", "cannot open config file '" + out.config_file + "'");
    try {
      po::store(po::parse_config_file(in, keys, /*allow_unregistered=*/false), vm);
    } catch (const po::unknown_option& e) {
      throw ConfigError(e.get_option_name(),
                        "unknown key in '" + out.config_file + "' (see fedhpc --help)");
    } catch (const po::error& e) {
      throw ConfigError("--config", out.config_file + ": " + e.what());
    }
  }
  po::notify(vm);
  out.check = vm.count("check") > 0;
  out.resume = vm.count("resume") > 0;

  std::map<std::string, std::string> values;
  for (const auto& o : option_table()) {
    const std::string v = vm[o.key].as<std::string>();
    o.apply(out.config, o.key, v);
    values[o.key] = trim(v);
  }
  validate(out.config);

  for (int pass = 0; pass < 2; ++pass) {
    std::ostringstream ini;
    std::string section;
    for (const auto& o : option_table()) {
      const std::string key = o.key;
      if (is_execution_key(key) != (pass == 1)) continue;
      const auto dot = key.find('.');
      if (key.substr(0, dot) != section) {
        section = key.substr(0, dot);
        ini << (ini.tellp() > 0 ? "\n" : "") << "[" << section << "]\n";
      }
      ini << key.substr(dot + 1) << " = " << values[key] << "\n";
    }
    (pass == 0 ? out.effective_ini : out.execution_ini) = ini.str();
  }
  return out;
}

void validate(const RunConfig& c) {
  // A sign-magnitude grid needs a sign bit and at least one level bit, in either direction.
  for (const auto& [section, spec] : {std::pair<std::string, const compress::UpdateCodecSpec*>{"uplink", &c.uplink.codec},
                                      {"downlink", &c.downlink.codec}})
    if (spec->value_grid == compress::ValueGrid::kSignMagnitude && spec->quantize_bits < 2)
      throw ConfigError(section + ".value_grid",
                        "sign_magnitude needs " + section + ".quantize_bits >= 2 (a sign bit and a level)");
  if (c.clients_per_round() > c.data.num_clients)
    throw ConfigError("server.clients_per_round",
                      std::to_string(c.clients_per_round()) + " clients per round exceeds " +
                          "data.num_clients = " + std::to_string(c.data.num_clients));
  if (c.uplink.codec.kind != compress::UpdateCodecKind::kIdentity &&
      c.storage.codec != compress::StorageSpec::Codec::kFp32 &&
      c.storage.uplink == UplinkFormat::kEncoded)
    throw ConfigError("uplink.codec", "clients cannot send both a compressed update and their "
                                      "encoded model: set storage.uplink = fp32 or uplink.codec = none");
  if (c.uplink.error_feedback != ErrorFeedback::kNone && c.uplink.codec.kind == compress::UpdateCodecKind::kIdentity)
    throw ConfigError("uplink.error_feedback",
                      "needs a compressing uplink.codec (uplink.codec = none sends exact updates)");
  {
    using K = compress::UpdateCodecKind;
    const K kind = c.uplink.codec.kind;
    const bool sparse = compress::is_sparse(kind);
    if (c.uplink.codec.scope == compress::TopKScope::kLayer && kind != K::kTopK)
      throw ConfigError("uplink.topk_scope", "layer is a top-k option: set uplink.codec = topk");
    if (c.uplink.codec.index_coding == compress::IndexCoding::kRice && !sparse)
      throw ConfigError("uplink.index_coding", "rice codes the support of a sparse uplink.codec (topk, threshold_topk, randk)");
    if (c.uplink.warmup_rounds > 0 && !sparse)
      throw ConfigError("uplink.warmup_rounds", "density warm-up needs a sparse uplink.codec (topk, threshold_topk, randk)");
    const bool residuals = c.uplink.error_feedback == ErrorFeedback::kClient || c.uplink.error_feedback == ErrorFeedback::kBoth;
    if ((c.uplink.residual_decay != 1.0 || c.uplink.residual_max_age > 0) && !residuals)
      throw ConfigError(c.uplink.residual_decay != 1.0 ? "uplink.residual_decay" : "uplink.residual_max_age",
                        "ages client residuals: needs uplink.error_feedback = client or both");
  }
  if (c.downlink.codec.kind != compress::UpdateCodecKind::kIdentity) {
    if (c.storage.codec != compress::StorageSpec::Codec::kFp32)
      throw ConfigError("downlink.codec", "the broadcast is already the encoded model of [storage]: "
                                          "set storage.codec = fp32 or downlink.codec = none");
    if (c.prune.method != PruneMethod::kNone || c.posttrain.method != PosttrainMethod::kNone)
      throw ConfigError("downlink.codec", "pruning and post-training publish their own model: "
                                          "set downlink.codec = none with prune.method or posttrain.method");
  }
  if (c.prune.method != PruneMethod::kNone && c.storage.codec != compress::StorageSpec::Codec::kFp32 &&
      c.storage.fp32_fraction > 0.0 && c.storage.ppq_granularity == compress::StorageSpec::PpqGranularity::kRows)
    throw ConfigError("storage.ppq_granularity",
                      "rows with prune.method: a pruned model's bytes would depend on which kept values fall "
                      "into fp32 row blocks; set storage.ppq_granularity = variables");
  if (c.prune.method != PruneMethod::kNone && c.prune.lambda_max < c.prune.lambda_init)
    throw ConfigError("prune.lambda_max", "must not be below prune.lambda_init");
  if (c.prune.mode == PruneMode::kDpfServer && c.prune.method != PruneMethod::kFedDip &&
      c.prune.method != PruneMethod::kNone)
    throw ConfigError("prune.mode", "dpf_server keeps pruned weights moving: only prune.method = feddip");
  if (c.posttrain.method != PosttrainMethod::kNone && c.posttrain.validation_clients > c.data.num_clients)
    throw ConfigError("posttrain.validation_clients",
                      std::to_string(c.posttrain.validation_clients) + " exceeds data.num_clients = " +
                          std::to_string(c.data.num_clients));
  if (!c.posttrain.input.empty() && c.posttrain.method == PosttrainMethod::kNone)
    throw ConfigError("posttrain.input", "names a model to compress but posttrain.method = none");
  if ((c.client.trainer == ClientTrainer::kZo || c.client.trainer == ClientTrainer::kAuto) &&
      c.uplink.codec.kind != compress::UpdateCodecKind::kIdentity)
    throw ConfigError("uplink.codec", "zo clients send K seeded loss differences, not an update to compress: "
                                      "set uplink.codec = none");
  if (c.client.trainer != ClientTrainer::kBackprop && c.prune.method == PruneMethod::kFedDip)
    throw ConfigError("client.trainer", "prune.method = feddip regularizes a backprop step: use client.trainer = backprop");
  if (c.client.budget == BudgetDist::kUniform && c.client.budget_min_mb > c.client.budget_max_mb)
    throw ConfigError("client.budget_min_mb", "must not exceed client.budget_max_mb");
}

}  // namespace fedhpc
