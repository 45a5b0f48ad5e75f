#pragma once
/// A phase after the rounds that compresses the trained server model (Bin &
/// Quant, gradient-weighted k-means): it may score candidate models with a
/// federated validation (clients evaluate on their own data, ranks reduce
/// exactly), may ask for federated fine-tuning rounds during which it acts as
/// a server stage, and ends with a compressed model plus the report written
/// under /compression (docs/posttrain.md).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/fl/server_stage.hpp"

namespace fedhpc::fl {

/// Accuracy and mean loss of a model on the validation clients' data.
struct ValidationScore {
  double accuracy = 0.0;
  double loss = 0.0;
};

/// Federated validation over a fixed sample of clients: every call is
/// collective and returns the same value on every rank, for any rank count.
class Validation {
 public:
  virtual ~Validation() = default;
  virtual ValidationScore evaluate(std::span<const float> model) = 0;
  /// Sample-weighted mean over the validation clients of the gradient of
  /// their mean loss at `model` into out (P).
  virtual void gradient(std::span<const float> model, std::span<double> out) = 0;
  /// Calls of evaluate() so far.
  virtual std::int64_t evaluations() const = 0;
};

/// One variable stored as codes into a codebook: element j of the variable
/// (in blocks of `block` consecutive elements) is codebook[codes[j / block]].
struct CodedVariable {
  std::size_t var = 0;               ///< index in the parameter layout
  int bits = 0;                      ///< bits per code
  int block = 1;                     ///< elements per code
  std::vector<float> codebook;       ///< (entries, block)
  std::vector<std::uint32_t> codes;  ///< (ceil(size / block)) entry of each block
  bool codebook_affine = false;      ///< the codebook is an 8-bit affine grid (stored as lo, step)
  int codebook_float_bits = 32;      ///< bits per stored codebook value (32, or 16: values are fp16-exact)
};

/// One step of a search (Bin & Quant): a candidate configuration of a layer.
struct SearchStep {
  std::int32_t var = 0;      ///< layout index of the layer
  std::int32_t bins = 0;     ///< bins of the configuration
  std::int32_t split = -1;   ///< bin split to reach it (-1: initial)
  double accuracy = 0.0;     ///< federated validation accuracy
  double loss = 0.0;         ///< federated validation loss
};

/// What a post-training method reports (the simulator adds the validation
/// and test-set scores before and after and writes it under /compression).
struct CompressionReport {
  std::vector<CodedVariable> coded;  ///< variables not listed stay fp32
  std::vector<SearchStep> trace;
};

/// The post-training method. As a ServerStage it runs during its own
/// fine-tuning rounds only (the simulator adds it to the stage chain).
class PosttrainPhase : public ServerStage {
 public:
  virtual const char* name() const = 0;
  /// Federated fine-tuning rounds after compress() (0: none).
  virtual int rounds() const = 0;
  /// First round of the fine-tuning (set by the simulator before compress()).
  virtual void set_first_round(int round) = 0;
  /// Compresses the trained model in place (collective, identical on every rank).
  virtual void compress(Validation& validation, std::span<float> model) = 0;
  /// After the fine-tuning rounds: the final compressed model in place and the report.
  virtual CompressionReport finish(Validation& validation, std::span<float> model) = 0;
};

}  // namespace fedhpc::fl
