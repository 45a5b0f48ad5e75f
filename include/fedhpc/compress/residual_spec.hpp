#pragma once
/// Error-feedback residual storage parameters (the residual part of [uplink]).
#include <cstddef>

namespace fedhpc::compress {

/// How a residual is held in memory.
enum class ResidualForm { kFp32, kFp16, kInt8, kSparse, kSparse16 };

/// Residual storage parameters; fields a form does not use are ignored.
struct ResidualSpec {
  ResidualForm form = ResidualForm::kFp32;
  double sparse_ratio = 0.1;     ///< kSparse, kSparse16: kept fraction, in (0, 1] (uplink.residual_ratio)
  std::size_t int8_block = 256;  ///< kInt8: elements per float scale, >= 1 (uplink.residual_block)
  /// Throws ConfigError naming uplink.residual_ratio / uplink.residual_block.
  void validate() const;
};

}  // namespace fedhpc::compress
