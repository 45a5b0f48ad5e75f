// Quantizer kernels: fast versions against references, error bounds,
// unbiasedness of stochastic rounding, IEEE-compatibility of float mode, PVT.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fedhpc/compress/quantizer.hpp"
#include "fedhpc/core/rng.hpp"

using namespace fedhpc;
using namespace fedhpc::compress;

namespace {

constexpr std::size_t kSizes[] = {1, 5, 1000, 1024, 1025, 5003};

std::vector<float> normal_values(std::size_t n, std::uint64_t key, double scale = 1.0,
                                 double shift = 0.0) {
  Rng rng(11, Purpose::kBench, key);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(shift + scale * rng.normal());
  return x;
}

/// Floats spread over the whole fp32 range (random sign, exponent, mantissa)
/// plus the special values.
std::vector<float> wide_values(std::size_t n, std::uint64_t key) {
  Rng rng(12, Purpose::kBench, key);
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, std::numeric_limits<float>::min(),
                          std::numeric_limits<float>::denorm_min(),
                          -std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(), 0.5f, 1.5f, 2.5f, 3.5f};
  while (x.size() < n) {
    const auto bits = static_cast<std::uint32_t>(rng.next());
    const float v = std::bit_cast<float>(bits);
    if (!std::isnan(v) && !std::isinf(v)) x.push_back(v);
  }
  return x;
}

/// Affine maps tried by the agreement tests: identity and a PVT-like one.
std::vector<Affine> affines() { return {Affine{}, Affine{0.37f, -0.051f}}; }

/// The next uniform of a copy of u: equal for two streams in the same state.
float state_probe(UniformStream u) { return u.next(); }

/// Scalar value of an encoded element for round trips.
std::vector<float> int_round_trip(const std::vector<float>& x, int bits, Rounding r, UniformStream& u,
                                  IntGrid& g) {
  g = int_grid(min_max(x.data(), x.size()), bits);
  std::vector<std::byte> buf(packed_bytes(x.size(), bits));
  encode_int(x.data(), x.size(), bits, Affine{}, g, r, &u, buf.data());
  std::vector<float> out(x.size());
  decode_int(buf.data(), x.size(), bits, Affine{}, g, out.data());
  return out;
}

std::vector<float> float_round_trip(const std::vector<float>& x, FloatFormat f, Rounding r,
                                    UniformStream& u) {
  std::vector<std::byte> buf(packed_bytes(x.size(), f.bits()));
  encode_float(x.data(), x.size(), f, Affine{}, r, &u, buf.data());
  std::vector<float> out(x.size());
  decode_float(buf.data(), x.size(), f, Affine{}, out.data());
  return out;
}

/// A round trip drawing from a fresh stream seeded by rng.
std::vector<float> float_round_trip(const std::vector<float>& x, FloatFormat f, Rounding r, Rng& rng) {
  UniformStream u(rng);
  return float_round_trip(x, f, r, u);
}

}  // namespace

TEST(CompressQuantizer, RangeStatisticsAgreeWithReference) {
  for (std::size_t n : {std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
                        std::size_t{4099}}) {
    auto x = normal_values(n, n, 3.0, 0.5);
    if (n > 2) x[n / 2] = std::numeric_limits<float>::quiet_NaN();  // ignored by min/max
    const MinMax a = min_max(x.data(), n), b = min_max_ref(x.data(), n);
    EXPECT_EQ(a.lo, b.lo);
    EXPECT_EQ(a.hi, b.hi);
    if (n > 2) x[n / 2] = 0.0f;
    const MinMaxMean c = min_max_mean(x.data(), n), d = min_max_mean_ref(x.data(), n);
    EXPECT_EQ(c.lo, d.lo);
    EXPECT_EQ(c.hi, d.hi);
    EXPECT_NEAR(c.mean, d.mean, 1e-12 * (1.0 + std::abs(d.mean)));
  }
  const std::vector<float> nans(5, std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(min_max(nans.data(), nans.size()).lo, 0.0f);
  EXPECT_EQ(min_max(nans.data(), nans.size()).hi, 0.0f);
}

TEST(CompressQuantizer, RangeAccumulatorIsMinMaxMeanOfTheWholeSequenceForAnySplit) {
  auto x = normal_values(5003, 21, 2.0, -0.3);
  x[77] = std::numeric_limits<float>::quiet_NaN();  // ignored by min/max, poisons the sum
  const std::size_t splits[][6] = {{5003, 0, 0, 0, 0, 0}, {1, 15, 16, 17, 4096, 858},
                                   {7, 7, 7, 1000, 3000, 982}, {4096, 907, 0, 0, 0, 0}};
  std::vector<float> clean = x;
  clean[77] = 0.25f;
  const MinMaxMean whole = min_max_mean(clean.data(), clean.size());
  for (const auto& split : splits) {
    RangeAccumulator a, b;
    std::size_t at = 0;
    for (const std::size_t p : split) {
      a.add(clean.data() + at, p);
      b.add(x.data() + at, p);
      at += p;
    }
    ASSERT_EQ(at, x.size());
    EXPECT_EQ(a.count(), x.size());
    const MinMaxMean r = a.result();
    EXPECT_EQ(r.lo, whole.lo);
    EXPECT_EQ(r.hi, whole.hi);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(r.mean), std::bit_cast<std::uint64_t>(whole.mean));  // bitwise
    EXPECT_TRUE(std::isnan(b.sum()));
    EXPECT_EQ(b.result().lo, whole.lo);
  }
  // Against the sequential reference: the same range, the mean up to summation order.
  const MinMaxMean ref = min_max_mean_ref(clean.data(), clean.size());
  EXPECT_EQ(whole.lo, ref.lo);
  EXPECT_EQ(whole.hi, ref.hi);
  EXPECT_NEAR(whole.mean, ref.mean, 1e-12 * (1.0 + std::abs(ref.mean)));
}

TEST(CompressQuantizer, IntFastAndReferenceAgree) {
  for (int bits = 2; bits <= 16; ++bits) {
    for (std::size_t n : kSizes) {
      for (Rounding r : {Rounding::kNearest, Rounding::kStochastic}) {
        for (Affine t : affines()) {
          SCOPED_TRACE(testing::Message() << "bits " << bits << " n " << n
                                          << (r == Rounding::kNearest ? " nearest" : " stochastic")
                                          << (t.is_identity() ? "" : " transform"));
          const auto x = normal_values(n, static_cast<std::uint64_t>(bits) * 100 + n);
          const IntGrid g = int_grid(transform_range(min_max(x.data(), n), t), bits);
          std::vector<std::byte> fast(packed_bytes(n, bits)), ref(fast.size());
          Rng p1(5, Purpose::kBench, n), p2(5, Purpose::kBench, n);
          UniformStream r1(p1), r2(p2);
          encode_int(x.data(), n, bits, t, g, r, &r1, fast.data());
          encode_int_ref(x.data(), n, bits, t, g, r, &r2, ref.data());
          ASSERT_EQ(fast, ref);
          ASSERT_EQ(r1.drawn(), r == Rounding::kStochastic ? n : 0u);  // one draw per element
          ASSERT_EQ(r1.drawn(), r2.drawn());
          ASSERT_EQ(state_probe(r1), state_probe(r2));
          std::vector<float> a(n), b(n);
          decode_int(fast.data(), n, bits, t, g, a.data());
          decode_int_ref(fast.data(), n, bits, t, g, b.data());
          for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(std::bit_cast<std::uint32_t>(a[i]),
                                                        std::bit_cast<std::uint32_t>(b[i]));
        }
      }
    }
  }
}

TEST(CompressQuantizer, IntRoundTripErrorBounds) {
  for (int bits = 2; bits <= 16; ++bits) {
    const auto x = normal_values(5003, static_cast<std::uint64_t>(bits), 0.2, 0.03);
    const MinMax mm = min_max(x.data(), x.size());
    const double slack = 4.0 * std::numeric_limits<float>::epsilon() *
                         std::max(std::abs(mm.lo), std::abs(mm.hi));
    for (Rounding r : {Rounding::kNearest, Rounding::kStochastic}) {
      Rng parent(3, Purpose::kBench, static_cast<std::uint64_t>(bits));
      UniformStream rng(parent);
      IntGrid g;
      const auto dec = int_round_trip(x, bits, r, rng, g);
      // Float evaluation of t = (x - lo)/s carries a relative error ~2^-23 of t <= 2^b - 1.
      const double s = g.scale, qerr = s * ((1u << bits) - 1) * 3.0e-7;
      double worst = 0.0;
      for (std::size_t i = 0; i < x.size(); ++i)
        worst = std::max(worst, std::abs(static_cast<double>(x[i]) - dec[i]));
      const double bound = r == Rounding::kNearest ? 0.5 * s : s;
      EXPECT_LE(worst, bound + qerr + slack) << "bits " << bits;
      EXPECT_GT(worst, 0.0);
    }
  }
}

TEST(CompressQuantizer, IntEndpointsAreExactAndConstantVariablesDecodeExactly) {
  const std::vector<float> x = {-0.75f, 0.1f, 0.3f, 1.25f};
  Rng parent(1, Purpose::kBench);
  UniformStream rng(parent);
  IntGrid g;
  const auto dec = int_round_trip(x, 8, Rounding::kNearest, rng, g);
  EXPECT_EQ(rng.drawn(), 0u);  // nearest draws nothing
  EXPECT_EQ(dec[0], -0.75f);
  EXPECT_NEAR(dec[3], 1.25f, 1e-6);
  // max == min: s = 0, every code 0, decode returns the value; the stream
  // still advances by one draw per element.
  const std::vector<float> c(37, 0.123f);
  Rng pa(2, Purpose::kBench), pb(2, Purpose::kBench);
  UniformStream a(pa), b(pb);
  const auto dc = int_round_trip(c, 4, Rounding::kStochastic, a, g);
  EXPECT_EQ(g.scale, 0.0f);
  for (float v : dc) EXPECT_EQ(v, 0.123f);
  for (int i = 0; i < 37; ++i) b.next();
  EXPECT_EQ(a.drawn(), 37u);
  EXPECT_EQ(a.next(), b.next());
}

TEST(CompressQuantizer, IntStochasticRoundingIsUnbiased) {
  // 4-bit grid over [-1, 1]: s = 2/15; interior points sit between grid points.
  std::vector<float> x = {-1.0f, 1.0f};
  for (int i = 0; i < 30; ++i) x.push_back(-0.97f + 0.0651f * static_cast<float>(i));
  const int trials = 20000;
  std::vector<double> sum(x.size(), 0.0);
  Rng parent(9, Purpose::kBench);
  UniformStream rng(parent);  // one stream: consecutive trials take consecutive draws
  IntGrid g;
  for (int k = 0; k < trials; ++k) {
    const auto dec = int_round_trip(x, 4, Rounding::kStochastic, rng, g);
    for (std::size_t i = 0; i < x.size(); ++i) sum[i] += dec[i];
  }
  const double s = g.scale;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double t = (x[i] - g.lo) / s;
    const double f = t - std::floor(t);
    const double se = s * std::sqrt(f * (1.0 - f) / trials);
    EXPECT_NEAR(sum[i] / trials, x[i], 5.0 * se + 1e-6) << "x = " << x[i];
  }
}

TEST(CompressQuantizer, FloatFormatConstants) {
  EXPECT_EQ((FloatFormat{4, 3}.max_finite()), 240.0f);
  EXPECT_EQ((FloatFormat{5, 2}.max_finite()), 57344.0f);
  EXPECT_EQ((FloatFormat{5, 10}.max_finite()), 65504.0f);
  EXPECT_EQ((FloatFormat{8, 23}.max_finite()), std::numeric_limits<float>::max());
  EXPECT_EQ((FloatFormat{8, 23}.min_normal()), std::numeric_limits<float>::min());
  EXPECT_EQ((FloatFormat{4, 3}.min_normal()), 1.0f / 64.0f);
  EXPECT_EQ((FloatFormat{4, 3}.bits()), 8);
}

TEST(CompressQuantizer, FloatFastAndReferenceAgree) {
  for (int e = 2; e <= 8; ++e) {
    for (int m : {0, 1, 2, 3, 5, 7, 10, 15, 22, 23}) {
      const FloatFormat f{e, m};
      // Values around the format's range: wide fp32 values scaled into it, and normals.
      auto x = wide_values(3000, static_cast<std::uint64_t>(e * 100 + m));
      const auto near = normal_values(1025, static_cast<std::uint64_t>(e * 100 + m),
                                      static_cast<double>(f.max_finite()) / 4.0);
      x.insert(x.end(), near.begin(), near.end());
      for (int k = -3; k <= 3; ++k) {  // around the smallest subnormal and the max
        x.push_back(std::ldexp(1.0f, 1 - f.bias() - m) * (1.0f + 0.25f * static_cast<float>(k)));
        x.push_back(f.max_finite() * (1.0f + 0.01f * static_cast<float>(k)));
      }
      const std::size_t n = x.size();
      for (Rounding r : {Rounding::kNearest, Rounding::kStochastic}) {
        for (Affine t : affines()) {
          SCOPED_TRACE(testing::Message() << "e" << e << "m" << m
                                          << (r == Rounding::kNearest ? " nearest" : " stochastic")
                                          << (t.is_identity() ? "" : " transform"));
          std::vector<std::byte> fast(packed_bytes(n, f.bits())), ref(fast.size());
          Rng p1(6, Purpose::kBench, n), p2(6, Purpose::kBench, n);
          UniformStream r1(p1), r2(p2);
          encode_float(x.data(), n, f, t, r, &r1, fast.data());
          encode_float_ref(x.data(), n, f, t, r, &r2, ref.data());
          ASSERT_EQ(fast, ref);
          ASSERT_EQ(r1.drawn(), r == Rounding::kStochastic ? n : 0u);
          ASSERT_EQ(r1.drawn(), r2.drawn());
          ASSERT_EQ(state_probe(r1), state_probe(r2));
          std::vector<float> a(n), b(n);
          decode_float(fast.data(), n, f, t, a.data());
          decode_float_ref(fast.data(), n, f, t, b.data());
          for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(std::bit_cast<std::uint32_t>(a[i]),
                                                        std::bit_cast<std::uint32_t>(b[i]));
        }
      }
    }
  }
}

TEST(CompressQuantizer, FloatRelativeErrorBoundInNormalRange) {
  for (int e = 2; e <= 8; ++e) {
    for (int m : {0, 1, 3, 7, 10, 23}) {
      const FloatFormat f{e, m};
      // Log-uniform magnitudes over the normal range, random signs.
      Rng gen(4, Purpose::kBench, static_cast<std::uint64_t>(e * 100 + m));
      const double lo = std::log2(f.min_normal()), hi = std::log2(f.max_finite());
      std::vector<float> x(4000);
      for (auto& v : x) {
        v = static_cast<float>(std::exp2(lo + (hi - lo) * gen.uniform()));
        v = std::min(std::max(v, f.min_normal()), f.max_finite());
        if (gen.uniform() < 0.5) v = -v;
      }
      for (Rounding r : {Rounding::kNearest, Rounding::kStochastic}) {
        Rng rng(5, Purpose::kBench);
        const auto dec = float_round_trip(x, f, r, rng);
        double worst = 0.0;
        for (std::size_t i = 0; i < x.size(); ++i)
          worst = std::max(worst, std::abs((static_cast<double>(dec[i]) - x[i]) / x[i]));
        // Nearest: half a quantum, 2^-(m+1) relative; stochastic: under one quantum.
        const double bound = std::ldexp(1.0, r == Rounding::kNearest ? -(m + 1) : -m);
        if (r == Rounding::kNearest) {
          EXPECT_LE(worst, bound) << "e" << e << "m" << m;
        } else {
          EXPECT_LT(worst, bound) << "e" << e << "m" << m;
        }
      }
    }
  }
}

TEST(CompressQuantizer, FloatSaturatesAndMapsNanToZero) {
  const FloatFormat f{4, 3};
  const std::vector<float> x = {1e6f, -1e6f, std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(),
                                std::numeric_limits<float>::quiet_NaN(), 1e-30f, -1e-30f};
  Rng rng(1, Purpose::kBench);
  const auto dec = float_round_trip(x, f, Rounding::kNearest, rng);
  EXPECT_EQ(dec[0], 240.0f);
  EXPECT_EQ(dec[1], -240.0f);
  EXPECT_EQ(dec[2], 240.0f);
  EXPECT_EQ(dec[3], -240.0f);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(dec[4]), 0u);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(dec[5]), 0u);            // +0
  EXPECT_EQ(std::bit_cast<std::uint32_t>(dec[6]), 0x80000000u);   // -0
}

TEST(CompressQuantizer, FloatE5M10IsIeeeHalfAndE8M7IsBfloat16) {
  auto x = wide_values(200000, 1);
  const auto small = normal_values(100000, 2, 100.0);
  x.insert(x.end(), small.begin(), small.end());
  for (int k = 0; k < 4096; ++k)  // the binary16 subnormal range and its rounding boundaries
    x.push_back(std::ldexp(static_cast<float>(k) * 0.25f + 0.125f, -24));
  Rng rng(1, Purpose::kBench);
  const auto half = float_round_trip(x, FloatFormat{5, 10}, Rounding::kNearest, rng);
  const auto bf = float_round_trip(x, FloatFormat{8, 7}, Rounding::kNearest, rng);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float v = x[i];
    if (std::isnan(v)) continue;
    if (std::abs(v) < 65520.0f) {  // below the binary16 overflow threshold
      const float want = static_cast<float>(static_cast<_Float16>(v));
      ASSERT_EQ(std::bit_cast<std::uint32_t>(half[i]), std::bit_cast<std::uint32_t>(want))
          << "x = " << v;
    } else {
      ASSERT_EQ(std::abs(half[i]), 65504.0f) << "x = " << v;
    }
    // bfloat16: round the fp32 bits to the upper 16, ties to even.
    const std::uint32_t b = std::bit_cast<std::uint32_t>(v);
    const std::uint32_t rounded = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;
    const float want_bf = std::bit_cast<float>(rounded);
    if (std::isinf(v) || std::isinf(want_bf)) {
      ASSERT_EQ(std::abs(bf[i]), FloatFormat(8, 7).max_finite()) << "x = " << v;
    } else {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(bf[i]), rounded) << "x = " << v;
    }
  }
}

TEST(CompressQuantizer, FloatE8M23IsLosslessForFiniteFloats) {
  auto x = wide_values(100000, 3);
  std::erase_if(x, [](float v) { return !std::isfinite(v); });
  for (Rounding r : {Rounding::kNearest, Rounding::kStochastic}) {
    Rng parent(2, Purpose::kBench);
    UniformStream rng(parent);
    const auto dec = float_round_trip(x, FloatFormat{8, 23}, r, rng);
    for (std::size_t i = 0; i < x.size(); ++i)
      ASSERT_EQ(std::bit_cast<std::uint32_t>(dec[i]), std::bit_cast<std::uint32_t>(x[i]));
  }
}

TEST(CompressQuantizer, FloatStochasticRoundingIsUnbiased) {
  const FloatFormat f{4, 3};
  // Normal, subnormal (below 2^-6) and negative values between grid points.
  const std::vector<float> x = {0.3f, -0.3f, 1.7f, 13.3f, 0.011f, -0.0041f, 200.0f, 0.0009f};
  const int trials = 20000;
  std::vector<double> sum(x.size(), 0.0);
  Rng parent(8, Purpose::kBench);
  UniformStream rng(parent);
  for (int k = 0; k < trials; ++k) {
    const auto dec = float_round_trip(x, f, Rounding::kStochastic, rng);
    for (std::size_t i = 0; i < x.size(); ++i) sum[i] += dec[i];
  }
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double ax = std::abs(static_cast<double>(x[i]));
    const int ex = std::max(static_cast<int>(std::floor(std::log2(ax))), 1 - f.bias());
    const double quantum = std::ldexp(1.0, ex - f.mantissa_bits);
    const double frac = ax / quantum - std::floor(ax / quantum);
    const double se = quantum * std::sqrt(frac * (1.0 - frac) / trials);
    EXPECT_NEAR(sum[i] / trials, x[i], 5.0 * se + 1e-9) << "x = " << x[i];
  }
}

TEST(CompressQuantizer, PvtMapsTheVariableIntoUnitRange) {
  const auto x = normal_values(3001, 5, 0.05, 0.8);
  const MinMaxMean st = min_max_mean(x.data(), x.size());
  const Affine t = pvt_affine(st);
  EXPECT_FLOAT_EQ(t.beta, static_cast<float>(st.mean));
  float maxdev = 0.0f;
  for (float v : x) maxdev = std::max(maxdev, std::abs(v - t.beta));
  EXPECT_EQ(t.alpha, maxdev);
  const MinMax r = transform_range({st.lo, st.hi}, t);
  EXPECT_GE(r.lo, -1.0f);
  EXPECT_LE(r.hi, 1.0f);
  EXPECT_TRUE(r.lo == -1.0f || r.hi == 1.0f);
  // Constant variable: alpha = 1.
  const std::vector<float> c(10, 2.5f);
  const Affine tc = pvt_affine(min_max_mean(c.data(), c.size()));
  EXPECT_EQ(tc.alpha, 1.0f);
  EXPECT_EQ(tc.beta, 2.5f);
}

TEST(CompressQuantizer, PvtIntRoundTripBound) {
  // Off-centre variable: decode alpha*(lo' + s'q) + beta within alpha*s'/2.
  const auto x = normal_values(5000, 6, 0.01, 3.0);
  const MinMaxMean st = min_max_mean(x.data(), x.size());
  const Affine t = pvt_affine(st);
  for (int bits : {2, 4, 6, 8}) {
    const IntGrid g = int_grid(transform_range({st.lo, st.hi}, t), bits);
    std::vector<std::byte> buf(packed_bytes(x.size(), bits));
    encode_int(x.data(), x.size(), bits, t, g, Rounding::kNearest, nullptr, buf.data());
    std::vector<float> dec(x.size());
    decode_int(buf.data(), x.size(), bits, t, g, dec.data());
    const double bound = 0.5 * t.alpha * g.scale + 8.0 * std::numeric_limits<float>::epsilon() * 3.1;
    for (std::size_t i = 0; i < x.size(); ++i)
      ASSERT_LE(std::abs(static_cast<double>(dec[i]) - x[i]), bound) << "bits " << bits;
  }
}

TEST(CompressQuantizer, PvtFloatUsesTheFormatAroundTheMean) {
  // Without PVT, e2m3 cannot represent 3.0 +- 0.01 (max finite 3.75, quantum 0.25 there);
  // with PVT the deviations are coded relative to alpha.
  const auto x = normal_values(2000, 7, 0.01, 3.0);
  const FloatFormat f{2, 3};
  const MinMaxMean st = min_max_mean(x.data(), x.size());
  const Affine t = pvt_affine(st);
  std::vector<std::byte> buf(packed_bytes(x.size(), f.bits()));
  encode_float(x.data(), x.size(), f, t, Rounding::kNearest, nullptr, buf.data());
  std::vector<float> with(x.size());
  decode_float(buf.data(), x.size(), f, t, with.data());
  Rng parent(1, Purpose::kBench);
  UniformStream rng2(parent);
  const auto without = float_round_trip(x, f, Rounding::kNearest, rng2);
  double err_with = 0.0, err_without = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    err_with = std::max(err_with, std::abs(static_cast<double>(with[i]) - x[i]));
    err_without = std::max(err_without, std::abs(static_cast<double>(without[i]) - x[i]));
  }
  // |x'| <= 1 has quantum <= 2^-3 in e2m3: error <= alpha/16.
  EXPECT_LE(err_with, t.alpha / 16.0 + 1e-6);
  EXPECT_LT(err_with, err_without);
}
