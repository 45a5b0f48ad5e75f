#include "fedhpc/train/param_store.hpp"

#include "fedhpc/core/error.hpp"
#include "fedhpc/train/encoded_store.hpp"

namespace fedhpc::train {

std::unique_ptr<ParamStore> make_param_store(const RunConfig& cfg, const model::ParamLayout& layout) {
  using C = compress::StorageSpec::Codec;
  switch (cfg.storage.codec) {
    case C::kFp32: return std::make_unique<Fp32Store>(layout);
    case C::kInt:
    case C::kFloat: return std::make_unique<EncodedStore>(cfg, layout, cfg.storage);
  }
  throw InternalError("make_param_store: unknown storage codec");
}

}  // namespace fedhpc::train
