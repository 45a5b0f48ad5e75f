#pragma once
/// Gradient-weighted k-means (GWK; Sakthi et al. 2022, ../shared/METHODS.md
/// §4) with federated fine-tuning. Each weight tensor is cut into sub-vectors
/// of `block` consecutive elements (the last one zero-padded) and clustered
/// with weighted k-means, k = 2^bits, k-means++ seeding keyed by (seed,
/// posttrain, variable); the weight of sub-vector j is a_j = mean |g| over its
/// elements, the a_j normalised to unit L2 (all zero: uniform). Biases and
/// tensors under 1,000 weights are not clustered but stored at 8 bits per
/// weight on an affine grid over their range (METHODS: "8 bits for
/// unclustered tensors"; the paper's 256-cluster codebook for small layers
/// costs 8,192 bits per layer, more than LeNet-5's conv1 in fp32, while the
/// grid costs 64). Gradients: the federated validation
/// clients' mean gradient (collective) for the clustering and the final snap;
/// the round's aggregated update as its proxy for the snaps during
/// fine-tuning, which start each from the current centroids.
#include <cstdint>
#include <vector>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/fl/posttrain_phase.hpp"
#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::posttrain {

/// Tensors smaller than this are not clustered (affine 8-bit grid).
inline constexpr std::size_t kSmallLayer = 1000;
/// Lloyd iterations of the first clustering and of each snap.
inline constexpr int kLloydIterations = 30;

class GwkPhase final : public fl::PosttrainPhase {
 public:
  GwkPhase(const PosttrainSection& cfg, const model::ParamLayout& layout, std::uint64_t seed);
  const char* name() const override { return "gwk"; }
  int rounds() const override { return cfg_.rounds; }
  void set_first_round(int round) override { first_round_ = round; }
  void compress(fl::Validation& validation, std::span<float> model) override;
  fl::CompressionReport finish(fl::Validation& validation, std::span<float> model) override;

  void before_step(int round, std::span<double> delta) override;
  void after_step(int round, std::span<float> model) override;
  void save(fl::NamedState& s) const override;
  void load(const fl::NamedState& s) override;

 private:
  /// Re-clusters every tensor of model (from the current centroids, or
  /// seeded when there are none) with weights from |g| and snaps it.
  void snap(std::span<const double> g, std::span<float> model);
  PosttrainSection cfg_;
  const model::ParamLayout* layout_;
  std::uint64_t seed_;
  int first_round_ = 0;
  std::vector<fl::CodedVariable> coded_;  // per tensor, layout order (empty before compress)
  std::vector<double> proxy_;             // (P) |mean update| of the current round
};

}  // namespace fedhpc::posttrain
