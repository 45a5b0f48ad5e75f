#pragma once
/// Parameter storage codec parameters (OMC, METHODS.md §1); defaults are the
/// documented [storage] defaults.

namespace fedhpc::compress {

/// How parameters are stored (OMC); the [storage] config section is this spec
/// plus its transport options (config/run_config.hpp).
struct StorageSpec {
  /// Codec of the quantized variables.
  enum class Codec { kFp32, kInt, kFloat };
  Codec codec = Codec::kFp32;   ///< kFp32: lossless passthrough
  int bits = 8;                 ///< integer codes, 2..16
  int exponent_bits = 4;        ///< float codes: e, 2..8
  int mantissa_bits = 3;        ///< float codes: m, 0..23
  bool pvt = false;             ///< per-variable transformation before quantizing
  bool weights_only = false;    ///< WMOQ: biases stay fp32
  double fp32_fraction = 0.0;   ///< PPQ rho in [0, 1]: weight parameters kept fp32 per round
  /// PPQ unit: row blocks (compress/ppq.hpp) or whole weight variables.
  enum class PpqGranularity { kRows, kVariables };
  PpqGranularity ppq_granularity = PpqGranularity::kRows;
  /// Throws ConfigError naming the storage.* key of a value out of range.
  void validate() const;
  /// Bits per code of a quantized variable (0 for kFp32).
  int code_bits() const noexcept;
};

}  // namespace fedhpc::compress
