#pragma once
/// Bin & Quant (Sakthi et al. 2022, ../shared/METHODS.md §4), no retraining:
/// the weight tensors are binned one at a time, largest first, the earlier
/// ones staying binned. A layer starts from Bins::initial; each split doubles
/// nothing but one bin: the most sensitive one (its weights scaled by 1.2
/// cost the most federated validation accuracy; only the two new bins are
/// re-scored) or, in the gradient variant, the one with the largest sum
/// |grad| of the validation clients' gradient at the current model.
/// The reference accuracy carries from layer to layer, and so does the
/// budget: a layer's configuration is accepted if it loses at most what is
/// left of max_drop times the layer's share of the weights still to bin
/// (what it does not use passes on), against the model before it, so the
/// whole model loses at most max_drop points of federated validation accuracy.
/// Splitting stops at max_bins, or once a configuration is accepted and the
/// bin count has reached the next power of two (more bins at the same code
/// width cost nothing; fewer cannot come later). The layer keeps the most
/// accurate accepted configuration of the smallest code width, or stays fp32
/// when none is accepted. Biases stay fp32.
#include <cstdint>
#include <vector>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/fl/posttrain_phase.hpp"
#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::posttrain {

class BinQuantPhase final : public fl::PosttrainPhase {
 public:
  BinQuantPhase(const PosttrainSection& cfg, const model::ParamLayout& layout, bool gradient);
  const char* name() const override { return gradient_ ? "binquant_grad" : "binquant"; }
  int rounds() const override { return 0; }
  void set_first_round(int) override {}
  void compress(fl::Validation& validation, std::span<float> model) override;
  fl::CompressionReport finish(fl::Validation& validation, std::span<float> model) override;

 private:
  /// Bins one layer of model (earlier layers already binned), accepting
  /// configurations of validation accuracy >= floor; returns the accuracy of
  /// the model it leaves.
  double bin_layer(fl::Validation& validation, std::size_t var, double floor, std::span<float> model);
  PosttrainSection cfg_;
  const model::ParamLayout* layout_;
  bool gradient_;
  fl::CompressionReport report_;
};

}  // namespace fedhpc::posttrain
