#pragma once
/// The one registration of the post-training methods ([posttrain] method):
///
///   method          phase           fine-tuning rounds   gradients
///   binquant        BinQuantPhase   0                    -
///   binquant_grad   BinQuantPhase   0                    validation clients
///   gwk             GwkPhase        posttrain.rounds     validation clients, update proxy
#include <memory>

#include "fedhpc/config/run_config.hpp"
#include "fedhpc/fl/posttrain_phase.hpp"
#include "fedhpc/model/param_layout.hpp"

namespace fedhpc::posttrain {

/// Null for posttrain.method = none.
std::unique_ptr<fl::PosttrainPhase> make_posttrain(const RunConfig& cfg, const model::ParamLayout& layout);

}  // namespace fedhpc::posttrain
