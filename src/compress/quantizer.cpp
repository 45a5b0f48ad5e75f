#include "fedhpc/compress/quantizer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "fedhpc/core/error.hpp"

namespace fedhpc::compress {

namespace {

/// Elements per block: scratch arrays stay in L1, and a multiple of 8 keeps
/// every block's packed codes starting on a byte boundary.
constexpr std::size_t kBlock = kCodecBlock;
static_assert(kBlock % 8 == 0);

/// Lanes of the reductions (one AVX-512 register of floats).
constexpr std::size_t kLanes = 16;

constexpr float kInf = std::numeric_limits<float>::infinity();

void check_int_bits(int bits) {
  expects(bits >= 2 && bits <= 16, "integer quantizer: bits outside 2..16");
}

void check_format(FloatFormat f) {
  expects(f.exponent_bits >= 2 && f.exponent_bits <= 8 && f.mantissa_bits >= 0 &&
              f.mantissa_bits <= 23,
          "float quantizer: format outside e 2..8, m 0..23");
}

/// Dispatches f.template operator()<kStochastic, kTransform>() once per call.
template <class F>
void dispatch(Rounding r, Affine t, F&& f) {
  const bool st = r == Rounding::kStochastic;
  const bool tr = !t.is_identity();
  if (st && tr) f.template operator()<true, true>();
  else if (st) f.template operator()<true, false>();
  else if (tr) f.template operator()<false, true>();
  else f.template operator()<false, false>();
}

void check_stream(Rounding r, const UniformStream* u) {
  expects(r != Rounding::kStochastic || u != nullptr, "stochastic rounding without a uniform stream");
}

/// Integer codes of one block (see the header for the math); Code is
/// std::uint32_t, or unsigned char to write 8-bit codes packed in place.
template <bool kStochastic, bool kTransform, class Code>
void quantize_int_block(const float* __restrict x, std::size_t m, Affine t, float ralpha, IntGrid g,
                        float rscale, float qmax, const float* __restrict u, Code* __restrict q) {
  for (std::size_t j = 0; j < m; ++j) {
    float y = x[j];
    if constexpr (kTransform) y = (y - t.beta) * ralpha;
    float v = (y - g.lo) * rscale;
    v = v > 0.0f ? v : 0.0f;  // also maps NaN to 0
    v = v < qmax ? v : qmax;
    const auto whole = static_cast<std::int32_t>(v);  // floor: v >= 0
    const float frac = v - static_cast<float>(whole);  // exact
    float threshold = 0.5f;
    if constexpr (kStochastic) threshold = 1.0f - u[j];  // exact: u is a multiple of 2^-24
    q[j] = static_cast<Code>(static_cast<std::uint32_t>(whole) + (frac >= threshold ? 1u : 0u));
  }
}

/// Values lo + s*q of m codes (std::uint32_t, or unsigned char: 8-bit codes read packed).
template <class Code>
void dequantize_int_block(const Code* __restrict q, std::size_t m, IntGrid d, float* __restrict out) {
  for (std::size_t j = 0; j < m; ++j) out[j] = d.lo + d.scale * static_cast<float>(q[j]);
}

/// The decode map of grid g under transform t as one grid: alpha*(lo + s*q) + beta
/// = (alpha*lo + beta) + (alpha*s)*q, both coefficients rounded to float.
IntGrid decode_grid(Affine t, IntGrid g) noexcept {
  if (t.is_identity()) return g;
  return {t.alpha * g.lo + t.beta, t.alpha * g.scale};
}

/// Constants of a float format for the block kernels.
struct FloatConsts {
  int e, m, bias;
  std::int32_t emin;     // 1 - bias: exponent of the smallest normal
  std::uint32_t maxmag;  // largest finite magnitude code
  std::uint32_t magmask, mantmask;
  float sub_scale;       // 2^(1 - bias - m): value of a subnormal mantissa unit

  explicit FloatConsts(FloatFormat f)
      : e(f.exponent_bits), m(f.mantissa_bits), bias(f.bias()), emin(1 - f.bias()),
        maxmag((((1u << f.exponent_bits) - 1u) << f.mantissa_bits) - 1u),
        magmask((1u << (f.exponent_bits + f.mantissa_bits)) - 1u),
        mantmask((1u << f.mantissa_bits) - 1u),
        sub_scale(std::ldexp(1.0f, 1 - f.bias() - f.mantissa_bits)) {}
};

/// Float codes of one block. With a the fp32 magnitude bits, E its biased
/// exponent and sig its integer significand (value sig * 2^(max(E,1) - 150)),
/// the target quantum is 2^(Eu - m) with Eu = max(max(E,1) - 127, 1 - bias);
/// y = sig / 2^sh, sh = Eu - m - max(E,1) + 150 >= 0, is |x| in quanta (exact in
/// float; sh is capped at 48, where y < 2^-24 rounds to 0 either way) and the
/// rounded magnitude code is ((Eu + bias - 1) << m) + round(y): the implicit
/// bit, a carry into the next binade and the subnormal range all fall out.
template <bool kStochastic, bool kTransform>
void quantize_float_block(const float* __restrict x, std::size_t n, const FloatConsts& c, Affine t,
                          const float* __restrict u, std::uint32_t* __restrict q) {
  for (std::size_t j = 0; j < n; ++j) {
    float y = x[j];
    if constexpr (kTransform) y = (y - t.beta) / t.alpha;
    float threshold = 0.5f;
    if constexpr (kStochastic) threshold = 1.0f - u[j];  // exact: u is a multiple of 2^-24
    const std::uint32_t b = std::bit_cast<std::uint32_t>(y);
    const std::uint32_t a = b & 0x7fffffffu;
    const std::uint32_t sign = b >> 31;
    const auto E = static_cast<std::int32_t>(a >> 23);
    const std::int32_t Eeff = E > 1 ? E : 1;
    const std::uint32_t sig = (a & 0x7fffffu) | (E != 0 ? 0x800000u : 0u);
    std::int32_t Eu = Eeff - 127;
    Eu = Eu > c.emin ? Eu : c.emin;
    std::int32_t sh = Eu - c.m - Eeff + 150;
    sh = sh < 48 ? sh : 48;
    const float scale = std::bit_cast<float>(static_cast<std::uint32_t>(127 - sh) << 23);  // 2^-sh
    const float ys = static_cast<float>(static_cast<std::int32_t>(sig)) * scale;          // exact
    const auto whole = static_cast<std::int32_t>(ys);
    const float frac = ys - static_cast<float>(whole);
    std::uint32_t up;
    if constexpr (kStochastic) {
      up = frac >= threshold ? 1u : 0u;
    } else {
      up = (frac > threshold || (frac == threshold && (whole & 1) != 0)) ? 1u : 0u;  // ties to even
    }
    std::uint32_t mag = (static_cast<std::uint32_t>(Eu + c.bias - 1) << c.m) +
                        static_cast<std::uint32_t>(whole) + up;
    mag = mag < c.maxmag ? mag : c.maxmag;
    const std::uint32_t not_nan = 0u - static_cast<std::uint32_t>(a <= 0x7f800000u);
    q[j] = ((sign << (c.e + c.m)) | mag) & not_nan;  // NaN -> +0
  }
}

template <bool kTransform>
void dequantize_float_block(const std::uint32_t* __restrict q, std::size_t n, const FloatConsts& c,
                            Affine t, float* __restrict out) {
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint32_t code = q[j];
    const std::uint32_t sign = (code >> (c.e + c.m)) & 1u;
    const std::uint32_t mag = code & c.magmask;
    const std::uint32_t E = mag >> c.m;
    const std::uint32_t mant = mag & c.mantmask;
    const std::uint32_t normal =
        ((E + 127u - static_cast<std::uint32_t>(c.bias)) << 23) | (mant << (23 - c.m));
    const float sub = static_cast<float>(static_cast<std::int32_t>(mant)) * c.sub_scale;  // exact
    const std::uint32_t is_normal = 0u - static_cast<std::uint32_t>(E != 0);  // all ones or 0
    const std::uint32_t bits = (normal & is_normal) | (std::bit_cast<std::uint32_t>(sub) & ~is_normal);
    float y = std::bit_cast<float>(bits | (sign << 31));
    if constexpr (kTransform) y = t.alpha * y + t.beta;
    out[j] = y;
  }
}

/// Reference float encoding of one value: real arithmetic in double.
std::uint32_t float_code_ref(float y, FloatFormat f, Rounding r, float u) {
  if (std::isnan(y)) return 0;
  const int e = f.exponent_bits, m = f.mantissa_bits, bias = f.bias(), emin = 1 - bias;
  const std::uint32_t sign = std::signbit(y) ? 1u : 0u;
  const double maxf = static_cast<double>(f.max_finite());
  const double ax = std::fabs(static_cast<double>(y));
  double v = maxf;  // rounded magnitude
  if (ax == 0.0) {
    v = 0.0;
  } else if (!std::isinf(ax)) {
    int ex = 0;
    std::frexp(ax, &ex);  // ax in [2^(ex-1), 2^ex)
    const int eq = std::max(ex - 1, emin) - m;  // quantum exponent
    const double units = std::ldexp(ax, -eq);   // exact
    const double k = r == Rounding::kNearest ? std::nearbyint(units)  // ties to even
                                              : std::floor(units + static_cast<double>(u));
    v = std::min(std::ldexp(k, eq), maxf);
  }
  std::uint32_t mag = 0;
  if (v == 0.0) {
    mag = 0;
  } else if (v < std::ldexp(1.0, emin)) {
    mag = static_cast<std::uint32_t>(std::ldexp(v, m - emin));  // subnormal mantissa
  } else {
    int ex = 0;
    std::frexp(v, &ex);
    const int E = ex - 1;
    const auto mant = static_cast<std::uint32_t>(std::ldexp(v, m - E)) - (1u << m);
    mag = (static_cast<std::uint32_t>(E + bias) << m) | mant;
  }
  return (sign << (e + m)) | mag;
}

/// Reference value of a float code.
float float_value_ref(std::uint32_t code, FloatFormat f) {
  const int e = f.exponent_bits, m = f.mantissa_bits, bias = f.bias();
  const bool neg = ((code >> (e + m)) & 1u) != 0;
  const std::uint32_t mag = code & ((1u << (e + m)) - 1u);
  const auto E = static_cast<int>(mag >> m);
  const auto mant = static_cast<double>(mag & ((1u << m) - 1u));
  const double v = E == 0 ? std::ldexp(mant, 1 - bias - m)
                          : std::ldexp(std::ldexp(1.0, m) + mant, E - bias - m);
  const auto vf = static_cast<float>(v);
  return neg ? -vf : vf;
}

/// The range of kLanes per-lane minima and maxima (0, 0 if every element was NaN).
MinMax combine_lanes(const float* lo, const float* hi) noexcept {
  float l = kInf, h = -kInf;
  for (std::size_t j = 0; j < kLanes; ++j) {
    l = lo[j] < l ? lo[j] : l;
    h = hi[j] > h ? hi[j] : h;
  }
  if (!(l <= h)) l = h = 0.0f;  // every element NaN
  return {l, h};
}

void reduce(const float* x, std::size_t n, float& lo_out, float& hi_out) {
  float lo[kLanes], hi[kLanes];  // (kLanes) per-lane running min / max
  for (std::size_t j = 0; j < kLanes; ++j) {
    lo[j] = kInf;
    hi[j] = -kInf;
  }
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::size_t j = 0; j < kLanes; ++j) {
      const float v = x[i + j];
      lo[j] = v < lo[j] ? v : lo[j];
      hi[j] = v > hi[j] ? v : hi[j];
    }
  }
  for (std::size_t j = 0; i < n; ++i, ++j) {
    const float v = x[i];
    lo[j] = v < lo[j] ? v : lo[j];
    hi[j] = v > hi[j] ? v : hi[j];
  }
  const MinMax r = combine_lanes(lo, hi);
  lo_out = r.lo;
  hi_out = r.hi;
}

}  // namespace

MinMax min_max(const float* x, std::size_t n) {
  expects(n >= 1, "min_max: empty variable");
  MinMax r;
  reduce(x, n, r.lo, r.hi);
  return r;
}

MinMaxMean min_max_mean(const float* x, std::size_t n) {
  expects(n >= 1, "min_max_mean: empty variable");
  RangeAccumulator a;
  a.add(x, n);
  return a.result();
}

static_assert(RangeAccumulator::kLanes == kLanes);

RangeAccumulator::RangeAccumulator() noexcept {
  for (std::size_t j = 0; j < kLanes; ++j) {
    lo_[j] = kInf;
    hi_[j] = -kInf;
    sum_[j] = 0.0;
  }
}

void RangeAccumulator::add(const float* x, std::size_t n) noexcept {
  // Lanes as SIMD registers (GCC/Clang vector extensions): min/max of all 16
  // in one, the double sums of lanes 0-7 and 8-15 in two. Same arithmetic per
  // lane as one element at a time (the scalar head and tail below).
  typedef float F16 __attribute__((vector_size(4 * kLanes)));
  typedef float F8 __attribute__((vector_size(2 * kLanes)));
  typedef double D8 __attribute__((vector_size(4 * kLanes)));
  const auto one = [this](std::size_t j, float v) {
    lo_[j] = v < lo_[j] ? v : lo_[j];
    hi_[j] = v > hi_[j] ? v : hi_[j];
    sum_[j] += static_cast<double>(v);
  };
  std::size_t i = 0;
  for (std::size_t j = n_ % kLanes; j != 0 && j < kLanes && i < n; ++j, ++i) one(j, x[i]);  // to lane 0
  if (i + kLanes <= n) {
    F16 lo, hi;
    D8 s0, s1;
    std::memcpy(&lo, lo_, sizeof lo);
    std::memcpy(&hi, hi_, sizeof hi);
    std::memcpy(&s0, sum_, sizeof s0);
    std::memcpy(&s1, sum_ + kLanes / 2, sizeof s1);
    for (; i + kLanes <= n; i += kLanes) {
      F16 v;
      F8 a, b;
      std::memcpy(&v, x + i, sizeof v);
      std::memcpy(&a, x + i, sizeof a);
      std::memcpy(&b, x + i + kLanes / 2, sizeof b);
      lo = v < lo ? v : lo;  // NaN compares false: ignored
      hi = v > hi ? v : hi;
      s0 += __builtin_convertvector(a, D8);
      s1 += __builtin_convertvector(b, D8);
    }
    std::memcpy(lo_, &lo, sizeof lo);
    std::memcpy(hi_, &hi, sizeof hi);
    std::memcpy(sum_, &s0, sizeof s0);
    std::memcpy(sum_ + kLanes / 2, &s1, sizeof s1);
  }
  for (std::size_t j = 0; i < n; ++i, ++j) one(j, x[i]);
  n_ += n;
}

double RangeAccumulator::sum() const noexcept {
  double s = 0.0;
  for (std::size_t j = 0; j < kLanes; ++j) s += sum_[j];
  return s;
}

MinMaxMean RangeAccumulator::result() const noexcept {
  const MinMax r = combine_lanes(lo_, hi_);
  return {r.lo, r.hi, sum() / static_cast<double>(n_)};
}

MinMax min_max_ref(const float* x, std::size_t n) {
  expects(n >= 1, "min_max_ref: empty variable");
  float lo = kInf, hi = -kInf;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) continue;
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (lo > hi) lo = hi = 0.0f;
  return {lo, hi};
}

MinMaxMean min_max_mean_ref(const float* x, std::size_t n) {
  const MinMax r = min_max_ref(x, n);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]);
  return {r.lo, r.hi, sum / static_cast<double>(n)};
}

Affine pvt_affine(const MinMaxMean& st) noexcept {
  Affine t;
  t.beta = static_cast<float>(st.mean);
  const float alpha = std::max(st.hi - t.beta, t.beta - st.lo);
  t.alpha = alpha > 0.0f ? alpha : 1.0f;  // constant variable (or NaN): unit scale
  return t;
}

MinMax transform_range(MinMax r, Affine t) noexcept {
  if (t.is_identity()) return r;
  return {(r.lo - t.beta) / t.alpha, (r.hi - t.beta) / t.alpha};
}

IntGrid int_grid(MinMax r, int bits) {
  check_int_bits(bits);
  const double qmax = static_cast<double>((1u << bits) - 1u);
  const double s = (static_cast<double>(r.hi) - static_cast<double>(r.lo)) / qmax;
  return {r.lo, s > 0.0 ? static_cast<float>(s) : 0.0f};
}

float FloatFormat::max_finite() const noexcept {
  const int emax = (1 << exponent_bits) - 2 - bias();
  return static_cast<float>(std::ldexp(2.0 - std::ldexp(1.0, -mantissa_bits), emax));
}

float FloatFormat::min_normal() const noexcept { return std::ldexp(1.0f, 1 - bias()); }

void encode_int(const float* x, std::size_t n, int bits, Affine t, IntGrid g, Rounding r,
                UniformStream* us, std::byte* out) {
  check_int_bits(bits);
  check_stream(r, us);
  const float qmax = static_cast<float>((1u << bits) - 1u);
  const bool constant = !(g.scale > 0.0f);
  const float ralpha = 1.0f / t.alpha, rscale = constant ? 0.0f : 1.0f / g.scale;  // multiply, not divide
  alignas(64) float u[kBlock];          // (kBlock) uniforms of the block
  alignas(64) std::uint32_t q[kBlock];  // (kBlock) codes of the block
  auto* bytes = reinterpret_cast<unsigned char*>(out);
  dispatch(r, t, [&]<bool kSt, bool kTr>() {
    for (std::size_t i0 = 0; i0 < n; i0 += kBlock) {
      const std::size_t m = std::min(kBlock, n - i0);
      if constexpr (kSt) us->fill(u, m);
      if (bits == 8) {  // a code is a byte: written in place, no pack pass
        if (constant) std::fill_n(bytes + i0, m, static_cast<unsigned char>(0));
        else quantize_int_block<kSt, kTr>(x + i0, m, t, ralpha, g, rscale, qmax, u, bytes + i0);
        continue;
      }
      if (constant) std::fill_n(q, m, 0u);
      else quantize_int_block<kSt, kTr>(x + i0, m, t, ralpha, g, rscale, qmax, u, q);
      pack_bits(q, m, bits, out + i0 / 8 * static_cast<std::size_t>(bits));
    }
  });
}

void decode_int(const std::byte* in, std::size_t n, int bits, Affine t, IntGrid g, float* out) {
  check_int_bits(bits);
  const IntGrid d = decode_grid(t, g);
  if (bits == 8) {  // a code is a byte: read in place, no unpack pass
    dequantize_int_block(reinterpret_cast<const unsigned char*>(in), n, d, out);
    return;
  }
  alignas(64) std::uint32_t q[kBlock];  // (kBlock) codes of the block
  for (std::size_t i0 = 0; i0 < n; i0 += kBlock) {
    const std::size_t m = std::min(kBlock, n - i0);
    unpack_bits(in + i0 / 8 * static_cast<std::size_t>(bits), m, bits, q);
    dequantize_int_block(q, m, d, out + i0);
  }
}

void encode_int_ref(const float* x, std::size_t n, int bits, Affine t, IntGrid g, Rounding r,
                    UniformStream* us, std::byte* out) {
  check_int_bits(bits);
  check_stream(r, us);
  const double qmax = static_cast<double>((1u << bits) - 1u);
  std::vector<std::uint32_t> codes(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double u = r == Rounding::kStochastic ? static_cast<double>(us->next()) : 0.5;
    if (!(g.scale > 0.0f)) continue;  // constant variable: code 0
    float y = x[i];
    if (!t.is_identity()) y = (y - t.beta) * (1.0f / t.alpha);
    const float v = (y - g.lo) * (1.0f / g.scale);
    const double k = std::floor(static_cast<double>(v) + u);  // exact in double
    codes[i] = std::isnan(k) ? 0u : static_cast<std::uint32_t>(std::clamp(k, 0.0, qmax));
  }
  pack_bits_ref(codes.data(), n, bits, out);
}

void decode_int_ref(const std::byte* in, std::size_t n, int bits, Affine t, IntGrid g, float* out) {
  check_int_bits(bits);
  std::vector<std::uint32_t> codes(n);
  unpack_bits_ref(in, n, bits, codes.data());
  // One affine map of the code (see the header).
  float lo = g.lo, scale = g.scale;
  if (!t.is_identity()) {
    lo = t.alpha * g.lo + t.beta;
    scale = t.alpha * g.scale;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = lo + scale * static_cast<float>(codes[i]);
}

void encode_float(const float* x, std::size_t n, FloatFormat f, Affine t, Rounding r,
                  UniformStream* us, std::byte* out) {
  check_format(f);
  check_stream(r, us);
  const FloatConsts c(f);
  const int bits = f.bits();
  alignas(64) float u[kBlock];          // (kBlock) uniforms of the block
  alignas(64) std::uint32_t q[kBlock];  // (kBlock) codes of the block
  dispatch(r, t, [&]<bool kSt, bool kTr>() {
    for (std::size_t i0 = 0; i0 < n; i0 += kBlock) {
      const std::size_t m = std::min(kBlock, n - i0);
      if constexpr (kSt) us->fill(u, m);
      quantize_float_block<kSt, kTr>(x + i0, m, c, t, u, q);
      pack_bits(q, m, bits, out + i0 / 8 * static_cast<std::size_t>(bits));
    }
  });
}

void decode_float(const std::byte* in, std::size_t n, FloatFormat f, Affine t, float* out) {
  check_format(f);
  const FloatConsts c(f);
  const int bits = f.bits();
  alignas(64) std::uint32_t q[kBlock];  // (kBlock) codes of the block
  dispatch(Rounding::kNearest, t, [&]<bool, bool kTr>() {
    for (std::size_t i0 = 0; i0 < n; i0 += kBlock) {
      const std::size_t m = std::min(kBlock, n - i0);
      unpack_bits(in + i0 / 8 * static_cast<std::size_t>(bits), m, bits, q);
      dequantize_float_block<kTr>(q, m, c, t, out + i0);
    }
  });
}

void encode_float_ref(const float* x, std::size_t n, FloatFormat f, Affine t, Rounding r,
                      UniformStream* us, std::byte* out) {
  check_format(f);
  check_stream(r, us);
  std::vector<std::uint32_t> codes(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float u = r == Rounding::kStochastic ? us->next() : 0.0f;
    float y = x[i];
    if (!t.is_identity()) y = (y - t.beta) / t.alpha;
    codes[i] = float_code_ref(y, f, r, u);
  }
  pack_bits_ref(codes.data(), n, f.bits(), out);
}

void decode_float_ref(const std::byte* in, std::size_t n, FloatFormat f, Affine t, float* out) {
  check_format(f);
  std::vector<std::uint32_t> codes(n);
  unpack_bits_ref(in, n, f.bits(), codes.data());
  for (std::size_t i = 0; i < n; ++i) {
    float y = float_value_ref(codes[i], f);
    if (!t.is_identity()) y = t.alpha * y + t.beta;
    out[i] = y;
  }
}

}  // namespace fedhpc::compress
