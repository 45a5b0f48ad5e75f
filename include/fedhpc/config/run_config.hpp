#pragma once
/// Typed run configuration: the only place option values live after parsing.
/// Defaults here are the documented defaults (docs/config.md, `fedhpc --help`).
#include <cstdint>
#include <string>
#include <vector>

namespace fedhpc {

/// [run] — identity of the run and its output.
struct RunSection {
  std::uint64_t seed = 1;              ///< keys every random stream
  std::string output = "results/fedhpc.h5";  ///< results file (HDF5)
  bool overwrite = false;              ///< replace an existing results file
  int eval_every = 5;                  ///< test evaluation every k rounds (and the last)
  int snapshot_every = 0;              ///< /model snapshot every k rounds (0 = final only)
  bool progress = true;                ///< rank 0 prints one line per round
  std::string checkpoint;              ///< checkpoint path ("" = <output>.ckpt)
  int checkpoint_every = 0;            ///< checkpoint every k rounds (0 = only when signalled)

  /// The checkpoint path in effect.
  std::string checkpoint_path() const { return checkpoint.empty() ? output + ".ckpt" : checkpoint; }
};

enum class DataSource { kFashionMnist, kHdf5, kSynthetic };
enum class PartitionKind { kIid, kDirichlet, kShards, kQuantity };

/// [data] — dataset and its split over clients.
struct DataSection {
  DataSource source = DataSource::kFashionMnist;
  std::string path = "/usr/share/datasets/fashion-mnist";  ///< IDX dir or HDF5 file
  int num_clients = 1000;
  PartitionKind partition = PartitionKind::kDirichlet;
  double alpha = 0.5;              ///< Dirichlet concentration (label skew)
  int classes_per_client = 2;      ///< shards partitioner
  double quantity_sigma = 1.0;     ///< lognormal sigma of client sizes (quantity skew)
  int min_samples = 2;             ///< every client gets at least this many examples
  double synthetic_alpha = 1.0;    ///< FedProx Synthetic(alpha, beta): model heterogeneity
  double synthetic_beta = 1.0;     ///< FedProx Synthetic(alpha, beta): data heterogeneity
  int synthetic_test_size = 10000; ///< test examples of the synthetic dataset
};

enum class Arch { kMlp, kLeNet5 };

/// [model]
struct ModelSection {
  Arch arch = Arch::kLeNet5;
  std::vector<int> hidden = {200, 200};  ///< MLP hidden widths
};

enum class BudgetDist { kFixed, kUniform, kLogNormal };
enum class OverBudget { kSkip, kAllow };

/// [client] — local training and device constraints.
struct ClientSection {
  double lr = 0.05;
  double momentum = 0.0;
  double weight_decay = 0.0;
  int epochs = 1;          ///< local epochs (used when steps == 0)
  int steps = 0;           ///< local minibatch steps (overrides epochs when > 0)
  int batch_size = 16;
  double prox_mu = 0.0;    ///< FedProx proximal coefficient
  double dropout = 0.0;    ///< probability a sampled client drops out
  BudgetDist budget = BudgetDist::kFixed;
  double budget_mb = 64.0;       ///< fixed budget; median for lognormal
  double budget_min_mb = 1.0;    ///< uniform lower bound
  double budget_max_mb = 64.0;   ///< uniform upper bound
  double budget_sigma = 0.5;     ///< lognormal sigma
  OverBudget over_budget = OverBudget::kSkip;
};

enum class ServerOpt { kFedAvg, kFedAvgM, kFedAdam, kFedYogi };

/// [server] — rounds, sampling and the server optimizer.
struct ServerSection {
  int rounds = 100;
  int clients_per_round = 0;       ///< count (takes precedence when > 0)
  double client_fraction = 0.05;   ///< fraction of clients when clients_per_round == 0
  ServerOpt optimizer = ServerOpt::kFedAvg;
  double lr = 1.0;
  double momentum = 0.9;  ///< FedAvgM
  double beta1 = 0.9;     ///< FedAdam/FedYogi
  double beta2 = 0.99;    ///< FedAdam/FedYogi
  double tau = 1e-3;      ///< FedAdam/FedYogi adaptivity
};

enum class StorageCodec { kFp32, kInt, kFloat };
enum class Rounding { kStochastic, kNearest };
enum class UplinkFormat { kFp32, kEncoded };

/// [storage] — how clients store (and the server broadcasts) parameters (OMC).
struct StorageSection {
  StorageCodec codec = StorageCodec::kFp32;
  int bits = 8;                 ///< integer codec bits (2..16)
  int exponent_bits = 4;        ///< float codec
  int mantissa_bits = 3;        ///< float codec
  bool pvt = false;             ///< per-variable transformation
  bool weights_only = false;    ///< WMOQ: quantize only weight matrices / kernels
  double fp32_fraction = 0.0;   ///< PPQ: fraction of weight parameters kept fp32 each round
  Rounding rounding = Rounding::kStochastic;          ///< re-encoding after local steps
  Rounding transport_rounding = Rounding::kNearest;   ///< encoding the broadcast
  UplinkFormat uplink = UplinkFormat::kEncoded;       ///< what the client sends back
  int decode_tile = 4096;       ///< elements decoded at a time (0: whole variables)
};

enum class UplinkCodec { kNone, kTopK, kThresholdTopK, kRandK, kQsgd, kUniform, kSign, kFp16 };
enum class ErrorFeedback { kNone, kClient, kServer, kBoth };
enum class ResidualStorage { kFp32, kFp16, kInt8, kSparse };

/// [uplink] — compression of the client updates sent to the server.
struct UplinkSection {
  UplinkCodec codec = UplinkCodec::kNone;
  double ratio = 0.01;        ///< top-k / threshold top-k / rand-k: kept fraction
  int quantize_bits = 0;      ///< kept values of sparse codecs: 0 = fp32, else 1..16 bits
  int sample_size = 4096;     ///< threshold top-k: sampled elements for the threshold
  int levels = 15;            ///< QSGD levels s
  int bucket_size = 512;      ///< QSGD elements per norm
  int bits = 8;               ///< uniform b-bit
  ErrorFeedback error_feedback = ErrorFeedback::kNone;  ///< where the residual lives
  ResidualStorage residual = ResidualStorage::kFp32;  ///< client residual storage form
  double residual_ratio = 0.1;  ///< sparse residual: kept fraction
  int residual_block = 256;     ///< int8 residual: elements per scale
};

enum class AggregatePathChoice { kAuto, kDense, kSparse, kQuantized };

/// [aggregate] — how ranks combine their rank-local sums.
struct AggregateSection {
  AggregatePathChoice path = AggregatePathChoice::kAuto;
  double dense_threshold = 0.5;  ///< sparse path: gathered support / P above which dense is used (bench_aggregate)
};

/// The whole run.
struct RunConfig {
  RunSection run;
  DataSection data;
  ModelSection model;
  ClientSection client;
  ServerSection server;
  StorageSection storage;
  UplinkSection uplink;
  AggregateSection aggregate;

  /// Number of clients sampled per round.
  int clients_per_round() const;
};

}  // namespace fedhpc
