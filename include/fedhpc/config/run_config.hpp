#pragma once
/// Typed run configuration: the only place option values live after parsing.
/// Defaults here are the documented defaults (docs/config.md, `fedhpc --help`).
#include <cstdint>
#include <string>
#include <vector>

#include "fedhpc/compress/residual_spec.hpp"
#include "fedhpc/compress/rounding.hpp"
#include "fedhpc/compress/storage_spec.hpp"
#include "fedhpc/compress/update_codec_spec.hpp"

namespace fedhpc {

/// [run] — identity of the run and its output.
/// Which rank trains a sampled client: its owner (shard), or the round's
/// clients balanced across the ranks by modelled cost (round; results are the same).
enum class Balance { kShard, kRound };

struct RunSection {
  std::uint64_t seed = 1;              ///< keys every random stream
  std::string output = "results/fedhpc.h5";  ///< results file (HDF5)
  bool overwrite = false;              ///< replace an existing results file
  int eval_every = 5;                  ///< test evaluation every k rounds (and the last)
  int snapshot_every = 0;              ///< /model snapshot every k rounds (0 = final only)
  bool progress = true;                ///< rank 0 prints one line per round
  std::string checkpoint;              ///< checkpoint path ("" = <output>.ckpt)
  int checkpoint_every = 0;            ///< checkpoint every k rounds (0 = only when signalled)
  bool memory_check = true;            ///< refuse a run whose memory estimate does not fit
  Balance balance = Balance::kRound;   ///< per-round balance of the trained clients over ranks

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

enum class ClientTrainer { kBackprop, kZo, kFedZo, kAuto };

/// [client] — local training and device constraints.
struct ClientSection {
  ClientTrainer trainer = ClientTrainer::kBackprop;  ///< backprop SGD, or zeroth-order (docs/ntk_zo.md)
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

enum class ZoDifferences { kForward, kCentral };

/// [zo] — zeroth-order (backprop-free) clients (client.trainer = zo | fedzo).
struct ZoSection {
  int directions = 20;      ///< K (FedZO: b2 per step)
  double sigma = 1e-3;      ///< perturbation scale (FedZO: mu)
  ZoDifferences differences = ZoDifferences::kForward;
  double clip = 0.3;        ///< zo: |g|_inf of each client's estimate is clipped to this
  int local_steps = 5;      ///< fedzo: local ZO-SGD steps H
  int batch = 16;           ///< zo: examples per forward pass (activations vs redrawn directions)
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

enum class UplinkFormat { kFp32, kEncoded };

/// [storage] — how clients store (and the server broadcasts) parameters (OMC):
/// the codec spec itself plus how values are rounded and what is sent back.
struct StorageSection : compress::StorageSpec {
  compress::Rounding rounding = compress::Rounding::kStochastic;   ///< re-encoding after local steps
  compress::Rounding transport_rounding = compress::Rounding::kNearest;  ///< encoding the broadcast
  UplinkFormat uplink = UplinkFormat::kEncoded;  ///< what the client sends back
  int decode_tile = 4096;       ///< elements decoded at a time (0: whole variables)
};

/// kEf21: the client keeps g_i, sends C(update - g_i) and sets g_i += sent;
/// the server adds the sampled clients' g_i (Richtárik et al. 2021).
enum class ErrorFeedback { kNone, kClient, kServer, kBoth, kEf21 };

/// [uplink] — compression of the client updates sent to the server. codec.kind
/// kIdentity is "none": the trainer's upload is sent as it is.
struct UplinkSection {
  compress::UpdateCodecSpec codec;   ///< codec and its parameters (unbiased is set at set-up)
  ErrorFeedback error_feedback = ErrorFeedback::kNone;  ///< where the residual lives
  compress::ResidualSpec residual;   ///< client residual storage form
  /// Client error feedback: a residual stored `age` rounds ago is scaled by
  /// residual_decay^age before it is added (1: kept as it is).
  double residual_decay = 1.0;
  int residual_max_age = 0;         ///< client error feedback: older residuals are dropped (0: never)
  int warmup_rounds = 0;            ///< sparse codecs: rounds of density warm-up (DGC; 0: none)
  double warmup_ratio = 0.25;       ///< density of round 0 of the warm-up, falling geometrically to ratio
  /// The kept fraction of the sparse codecs in `round` (the warm-up, then codec.ratio).
  double ratio_at(int round) const noexcept;
};

/// [downlink] — compression of the broadcast (EF21-P style, sim/downlink.hpp):
/// codec.kind kIdentity is "none", the model goes out as the trainer encodes it.
struct DownlinkSection {
  compress::UpdateCodecSpec codec;  ///< codec of the model change the server broadcasts
};

enum class PruneMethod { kNone, kFedDip, kMagnitude, kSnip, kRandom, kNtk };
enum class NtkInput { kNoise, kData };
enum class PruneMode { kCode, kDpfServer };
enum class PruneScope { kGlobal, kErk };

/// [prune] — masks over the conv and linear weights (METHODS.md §2; biases are never pruned).
struct PruneSection {
  PruneMethod method = PruneMethod::kNone;
  double sparsity = 0.9;           ///< final sparsity s_p of the prunable weights, [0, 1)
  double initial_sparsity = 0.5;   ///< s_0 of the cubic schedule (FedDIP, magnitude), [0, 1)
  int interval = 5;                ///< re-prune every f rounds (FedDIP, magnitude)
  PruneMode mode = PruneMode::kCode;  ///< code: server re-zeroes; dpf_server: server keeps the dense model
  double lambda_init = 5e-4;       ///< FedDIP regularization staircase, segment 1
  double lambda_max = 1e-3;        ///< FedDIP staircase end point (segment Q reaches (Q-2)/(Q-1) of the way)
  int segments = 20;               ///< staircase segments Q (segment 0: lambda = 0)
  double lr_decay = 0.998;         ///< client lr_t = client.lr * lr_decay^t (with any prune method)
  PruneScope scope = PruneScope::kGlobal;  ///< re-pruning: global magnitude (the paper) or per layer at ERK densities
  double schedule_end = 1.0;       ///< the cubic schedule reaches s_p after this fraction of the rounds (1: the paper)
  int ntk_iterations = 20;         ///< ntk: federated scoring iterations T (density (1 - s_p)^(t/T))
  int ntk_resamples = 5;           ///< ntk: re-initialisations per client and iteration
  NtkInput ntk_input = NtkInput::kNoise;  ///< ntk: N(0, 1) noise (data-free) or a local minibatch
};

enum class PosttrainMethod { kNone, kBinQuant, kBinQuantGrad, kGwk };

/// [posttrain] — compression of the trained model (docs/posttrain.md).
struct PosttrainSection {
  PosttrainMethod method = PosttrainMethod::kNone;
  std::string input;               ///< results file whose last /model snapshot is compressed ("" = this run's model)
  double max_drop = 1.0;           ///< Bin & Quant: accepted federated validation accuracy drop (points)
  int max_bins = 32;               ///< Bin & Quant: stop splitting at this many bins per layer
  int bits = 5;                    ///< GWK: log2 of the clusters per layer (k = 2^bits)
  int block = 6;                   ///< GWK: sub-vector length b_s (the configs use 4)
  int codebook_bits = 16;          ///< GWK: bits per stored centroid value (16: fp16, 32: fp32)
  int rounds = 20;                 ///< GWK: federated fine-tuning rounds after clustering
  int snap_every = 1;              ///< GWK: snap to the centroids every k fine-tuning rounds (and at the end)
  int validation_clients = 100;    ///< clients of the fixed federated validation sample
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
  ZoSection zo;
  ServerSection server;
  StorageSection storage;
  UplinkSection uplink;
  DownlinkSection downlink;
  AggregateSection aggregate;
  PruneSection prune;
  PosttrainSection posttrain;

  /// Number of clients sampled per round.
  int clients_per_round() const;
};

}  // namespace fedhpc
