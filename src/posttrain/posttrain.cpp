#include "fedhpc/posttrain/posttrain.hpp"

#include "fedhpc/posttrain/binquant.hpp"
#include "fedhpc/posttrain/gwk.hpp"

namespace fedhpc::posttrain {

std::unique_ptr<fl::PosttrainPhase> make_posttrain(const RunConfig& cfg, const model::ParamLayout& layout) {
  switch (cfg.posttrain.method) {
    case PosttrainMethod::kNone: return nullptr;
    case PosttrainMethod::kBinQuant: return std::make_unique<BinQuantPhase>(cfg.posttrain, layout, false);
    case PosttrainMethod::kBinQuantGrad: return std::make_unique<BinQuantPhase>(cfg.posttrain, layout, true);
    case PosttrainMethod::kGwk: return std::make_unique<GwkPhase>(cfg.posttrain, layout, cfg.run.seed);
  }
  return nullptr;
}

}  // namespace fedhpc::posttrain
