#include "fedhpc/train/param_store.hpp"

#include "fedhpc/core/error.hpp"

namespace fedhpc::train {

std::unique_ptr<ParamStore> make_param_store(const RunConfig& cfg, const model::ParamLayout& layout) {
  switch (cfg.storage.codec) {
    case StorageCodec::kFp32: return std::make_unique<Fp32Store>(layout);
    case StorageCodec::kInt:
    case StorageCodec::kFloat: break;
  }
  throw InternalError("make_param_store: unknown codec");
}

}  // namespace fedhpc::train
