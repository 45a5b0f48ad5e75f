#pragma once
/// Uplink update codec parameters; the [uplink] config section holds one
/// (config/run_config.hpp), so every default is written here once.
#include <cstddef>
#include <vector>

namespace fedhpc::compress {

/// The codec families of [uplink] codec.
enum class UpdateCodecKind {
  kIdentity,
  kTopK,
  kThresholdTopK,
  kRandK,
  kQsgd,
  kUniform,
  kSign,
  kFp16
};

/// Top-k, threshold top-k and rand-k: a support plus kept values.
constexpr bool is_sparse(UpdateCodecKind k) noexcept {
  return k == UpdateCodecKind::kTopK || k == UpdateCodecKind::kThresholdTopK || k == UpdateCodecKind::kRandK;
}

/// The grid of quantized kept values of the sparse codecs.
enum class ValueGrid {
  kRange,          ///< uniform levels over [min, max] of the kept values
  kSignMagnitude,  ///< a sign bit and uniform levels over [min |v|, max |v|]
};

/// How the sparse codecs send their support.
enum class IndexCoding {
  kFixed,  ///< indices at bit_width(n - 1) bits each, or a bitmask when smaller
  kRice,   ///< gaps between indices, Rice-coded with the best parameter (data-dependent size)
};

/// Where top-k chooses its k largest entries.
enum class TopKScope {
  kGlobal,  ///< over the whole update
  kLayer,   ///< in every variable (segment) separately, k_s = kept_count(size_s, ratio)
};

/// Codec parameters; fields a kind does not use are ignored.
struct UpdateCodecSpec {
  UpdateCodecKind kind = UpdateCodecKind::kIdentity;
  double ratio = 0.01;             ///< top-k, thr. top-k, rand-k: kept fraction in (0, 1]
  int quantize_bits = 0;           ///< top-k, thr. top-k, rand-k values: 0 = fp32, else 1..16 bits
  ValueGrid value_grid = ValueGrid::kRange;  ///< grid of quantized kept values (sign_magnitude: bits >= 2)
  TopKScope scope = TopKScope::kGlobal;      ///< top-k: global or per variable
  IndexCoding index_coding = IndexCoding::kFixed;  ///< sparse codecs: support encoding
  /// top-k per variable: the end offset of every variable, ascending, the
  /// last one the update size (set at set-up from the model layout).
  std::vector<std::size_t> segment_ends;
  std::size_t sample_size = 4096;  ///< thr. top-k: sampled elements for the threshold, >= 1
  int levels = 15;                 ///< QSGD s, 1..65535 (code bits 1 + bit_width(s))
  std::size_t bucket_size = 512;   ///< QSGD d: elements per norm, >= 1
  int bits = 8;                    ///< uniform: b, 1..16
  /// rand-k: scale kept values by n/k (unbiased). Off = the contractive form
  /// error feedback needs (the simulator turns it off with error feedback).
  bool unbiased = true;
  /// Throws ConfigError naming the uplink.* key of a value out of range.
  void validate() const;
};

}  // namespace fedhpc::compress
