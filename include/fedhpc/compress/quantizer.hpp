#pragma once
/// Per-variable quantizer kernels of OMC (METHODS.md §1): integer b-bit, float
/// (1 sign, e exponent, m mantissa bits) and the per-variable transformation,
/// each fused with bit packing (bit_pack.hpp) and paired with a plain reference.
///
/// Per-variable transformation (PVT), applied before either quantizer:
///   beta = mean x (double accumulation, stored as float),
///   alpha = max_i |x_i - beta| (alpha = 1 when 0),
///   x' = (x - beta) / alpha in [-1, 1],   decode  alpha * Q^-1(q) + beta.
/// Without PVT the transform is the identity (alpha = 1, beta = 0, skipped).
///
/// Integer mode, b in [2, 16], on y = x' (or x):
///   lo = min y,  s = (max y - lo) / (2^b - 1)  (s = 0 when max y == lo: all codes 0),
///   q = clamp(floor((y - lo)/s + u), 0, 2^b - 1),  decode  lo + s*q,
/// where the encoder evaluates both quotients in float as products with the
/// float reciprocals, y = (x - beta) * (1/alpha) and t = (y - lo) * (1/s)
/// (a few ulp of t from the exact quotient; no division per element),
/// with u = 1/2 (nearest: |y - dec| <= s/2) or u ~ U[0,1) (stochastic:
/// E[dec] = y, |y - dec| < s). With t = (y - lo)/s, floor(t + u) is evaluated
/// as floor(t) + [t - floor(t) >= 1 - u]: equal in exact arithmetic, and free of
/// the float rounding of t + u that would bias stochastic rounding (both sides
/// of the comparison are exact in float).
///
/// Float mode, e in [2, 8], m in [0, 23], code = sign | exponent | mantissa at
/// 1+e+m bits, bias B = 2^(e-1) - 1, IEEE 754 layout: biased exponent 0 holds
/// subnormals mant * 2^(1-B-m); E in [1, 2^e - 2] holds (1 + mant/2^m) * 2^(E-B);
/// E = 2^e - 1 (inf/NaN in IEEE) is never produced. Values are rounded to the
/// quantum 2^(max(floor(log2|y|), 1-B) - m) — to nearest even, or stochastically
/// as floor(|y|/quantum + u) — and saturate at max finite (2 - 2^-m) * 2^(2^e-2-B);
/// +-inf saturate, NaN encodes as +0. e = 5, m = 10 reproduces IEEE binary16,
/// e = 8, m = 7 bfloat16, and e = 8, m = 23 is lossless for every finite fp32
/// (each with saturation in place of infinity).
///
/// Stochastic rounding takes one uniform of a UniformStream per element, in
/// element order, whatever the data (also when s = 0), so the stream position
/// after encoding n elements depends on n only, and encoding a sequence in
/// pieces takes the same draws as encoding it whole. Nearest rounding draws
/// nothing (the stream may then be null).
///
/// Inputs are expected finite. NaN is ignored by the range statistics and
/// encodes to code 0; infinities give unspecified (but well-defined) codes in
/// integer mode.
#include <cstddef>
#include <cstdint>

#include "fedhpc/compress/bit_pack.hpp"
#include "fedhpc/compress/rounding.hpp"
#include "fedhpc/core/uniform_stream.hpp"

namespace fedhpc::compress {

/// Elements the block-wise kernels process at a time.
inline constexpr std::size_t kCodecBlock = 1024;
/// Largest scratch a kernel holds (on the stack): encode's uniforms and codes
/// of one block, 2 x 4 x kCodecBlock bytes (decode holds the codes only, the
/// range statistics 16 lanes of min, max and a double sum). Stochastic
/// rounding's UniformStream is the caller's.
inline constexpr std::size_t kCodecScratchBytes = 2 * 4 * kCodecBlock;

/// Range of a variable.
struct MinMax {
  float lo = 0.0f;  ///< min x (NaN ignored)
  float hi = 0.0f;  ///< max x (NaN ignored)
};

/// Range and mean of a variable (what PVT needs), from one pass.
struct MinMaxMean {
  float lo = 0.0f;    ///< min x
  float hi = 0.0f;    ///< max x
  double mean = 0.0;  ///< sum x / n, accumulated in double
};

/// min and max of x[0..n), n >= 1 (all-NaN input gives 0, 0).
MinMax min_max(const float* x, std::size_t n);
/// Reference min_max: one sequential loop.
MinMax min_max_ref(const float* x, std::size_t n);
/// min, max and mean of x[0..n), n >= 1: RangeAccumulator over x (16 interleaved double lanes).
MinMaxMean min_max_mean(const float* x, std::size_t n);
/// Reference min_max_mean: one sequential double sum (agrees up to summation order).
MinMaxMean min_max_mean_ref(const float* x, std::size_t n);

/// min, max and sum of a sequence fed in pieces: element k of the sequence
/// goes to lane k mod 16 (min, max and a double sum per lane), the lanes are
/// combined in order at the end. The result does not depend on how the
/// sequence is split, and equals min_max_mean of the whole sequence.
class RangeAccumulator {
 public:
  static constexpr std::size_t kLanes = 16;
  RangeAccumulator() noexcept;
  /// Appends x[0..n) to the sequence.
  void add(const float* x, std::size_t n) noexcept;
  /// Elements added so far.
  std::size_t count() const noexcept { return n_; }
  /// Sum of the elements (NaN or inf if any element is).
  double sum() const noexcept;
  /// min, max (NaN ignored; 0, 0 if none is a number) and sum / count() (count() >= 1).
  MinMaxMean result() const noexcept;

 private:
  float lo_[kLanes], hi_[kLanes];  // (kLanes) per-lane running min / max
  double sum_[kLanes];             // (kLanes) per-lane sums
  std::size_t n_ = 0;
};

/// The PVT affine map x' = (x - beta) / alpha, decoded as alpha * y + beta.
struct Affine {
  float alpha = 1.0f;  ///< scale, > 0
  float beta = 0.0f;   ///< shift
  /// True for the identity (no PVT): kernels then skip the transform.
  bool is_identity() const noexcept { return alpha == 1.0f && beta == 0.0f; }
};

/// PVT map from statistics: beta = float(mean), alpha = max(hi - beta, beta - lo), 1 if 0.
Affine pvt_affine(const MinMaxMean& st) noexcept;

/// Range of x' = (x - beta)/alpha over x in r (exact: float rounding is monotone).
MinMax transform_range(MinMax r, Affine t) noexcept;

/// Integer grid of one variable: value = lo + scale * q.
struct IntGrid {
  float lo = 0.0f;     ///< min of the quantized values
  float scale = 0.0f;  ///< step s; 0 means every code is 0
};

/// Grid for b-bit codes over r: lo = r.lo, s = (r.hi - r.lo)/(2^b - 1) computed in double.
IntGrid int_grid(MinMax r, int bits);

/// Integer-encodes x[0..n): y = (x - t.beta)/t.alpha, q = clamp(floor((y - g.lo)/g.scale + u)),
/// packed at `bits` (2..16) into out[0..packed_bytes(n, bits)). Block-wise, no allocation.
/// u: the stochastic draws (may be null with nearest rounding).
void encode_int(const float* x, std::size_t n, int bits, Affine t, IntGrid g, Rounding r,
                UniformStream* u, std::byte* out);
/// Reference encode_int: one element and one UniformStream::next() at a time, in double, then pack_bits_ref.
void encode_int_ref(const float* x, std::size_t n, int bits, Affine t, IntGrid g, Rounding r,
                    UniformStream* u, std::byte* out);
/// Decodes encode_int output: out_i = t.alpha * (g.lo + g.scale * q_i) + t.beta, evaluated
/// as one affine map of the code, (t.alpha*g.lo + t.beta) + (t.alpha*g.scale) * q_i with both
/// coefficients rounded to float once per call (two float operations per element).
void decode_int(const std::byte* in, std::size_t n, int bits, Affine t, IntGrid g, float* out);
/// Reference decode_int.
void decode_int_ref(const std::byte* in, std::size_t n, int bits, Affine t, IntGrid g, float* out);

/// A float format with 1 sign, e exponent and m mantissa bits (see the file comment).
struct FloatFormat {
  int exponent_bits = 4;  ///< e, 2..8
  int mantissa_bits = 3;  ///< m, 0..23
  /// Code width 1 + e + m.
  int bits() const noexcept { return 1 + exponent_bits + mantissa_bits; }
  /// Exponent bias 2^(e-1) - 1.
  int bias() const noexcept { return (1 << (exponent_bits - 1)) - 1; }
  /// Largest finite value (2 - 2^-m) * 2^(2^e - 2 - bias).
  float max_finite() const noexcept;
  /// Smallest normal value 2^(1 - bias).
  float min_normal() const noexcept;
};

/// Float-encodes x[0..n): y = (x - t.beta)/t.alpha rounded to format f, packed at f.bits();
/// u: the stochastic draws (may be null with nearest rounding).
void encode_float(const float* x, std::size_t n, FloatFormat f, Affine t, Rounding r,
                  UniformStream* u, std::byte* out);
/// Reference encode_float: frexp/ldexp arithmetic in double, one UniformStream::next() at a time, then pack_bits_ref.
void encode_float_ref(const float* x, std::size_t n, FloatFormat f, Affine t, Rounding r,
                      UniformStream* u, std::byte* out);
/// Decodes encode_float output: out_i = t.alpha * value(code_i) + t.beta.
void decode_float(const std::byte* in, std::size_t n, FloatFormat f, Affine t, float* out);
/// Reference decode_float.
void decode_float_ref(const std::byte* in, std::size_t n, FloatFormat f, Affine t, float* out);

}  // namespace fedhpc::compress
