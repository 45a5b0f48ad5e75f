#include "fedhpc/train/param_store.hpp"

#include "fedhpc/core/error.hpp"
#include "fedhpc/train/encoded_store.hpp"

namespace fedhpc::train {

compress::StorageSpec storage_spec(const StorageSection& s) {
  compress::StorageSpec spec;
  switch (s.codec) {
    case StorageCodec::kFp32: spec.codec = compress::StorageSpec::Codec::kFp32; break;
    case StorageCodec::kInt: spec.codec = compress::StorageSpec::Codec::kInt; break;
    case StorageCodec::kFloat: spec.codec = compress::StorageSpec::Codec::kFloat; break;
  }
  spec.bits = s.bits;
  spec.exponent_bits = s.exponent_bits;
  spec.mantissa_bits = s.mantissa_bits;
  spec.pvt = s.pvt;
  spec.weights_only = s.weights_only;
  spec.fp32_fraction = s.fp32_fraction;
  return spec;
}

std::unique_ptr<ParamStore> make_param_store(const RunConfig& cfg, const model::ParamLayout& layout) {
  switch (cfg.storage.codec) {
    case StorageCodec::kFp32: return std::make_unique<Fp32Store>(layout);
    case StorageCodec::kInt:
    case StorageCodec::kFloat:
      return std::make_unique<EncodedStore>(cfg, layout, storage_spec(cfg.storage));
  }
  throw InternalError("make_param_store: unknown storage codec");
}

}  // namespace fedhpc::train
