// Uplink update codecs: decode(encode(x)) properties per codec, byte counts
// against the header's formulas, unbiasedness over seeds, error feedback.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

using namespace fedhpc;
using namespace fedhpc::compress;
using K = UpdateCodecKind;

namespace {

constexpr std::size_t kSizes[] = {1, 2, 7, 8, 9, 100, 257, 1000, 4099};

std::vector<float> random_update(std::size_t n, std::uint64_t key) {
  Rng rng(11, Purpose::kBench, n, key);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(rng.normal());
  return x;
}

UpdateCodecSpec spec_of(K kind) {
  UpdateCodecSpec s;
  s.kind = kind;
  s.ratio = 0.1;
  s.levels = 7;
  s.bucket_size = 64;
  s.bits = 4;
  return s;
}

std::vector<float> round_trip(const UpdateCodec& c, std::span<const float> x, std::uint64_t seed,
                              EncodedUpdate& e, std::size_t* bytes = nullptr) {
  Rng rng(seed, Purpose::kUplink, 1, 2);
  const std::size_t b = c.encode(x, rng, e);
  EXPECT_EQ(b, e.size());
  if (bytes) *bytes = b;
  std::vector<float> y(x.size(), 123.0f);
  c.decode(e, y);
  return y;
}

std::size_t pbytes(std::size_t m, std::size_t b) { return (m * b + 7) / 8; }

/// Independent statement of the sparse support size.
std::size_t support(std::size_t n, std::size_t k) {
  std::size_t ib = 1;
  while ((std::size_t{1} << ib) < n) ++ib;
  return std::min(pbytes(k, ib), pbytes(n, 1));
}

constexpr K kAllKinds[] = {K::kIdentity, K::kTopK,    K::kThresholdTopK, K::kRandK,
                           K::kQsgd,     K::kUniform, K::kSign,          K::kFp16};

}  // namespace

TEST(CompressUpdateCodec, IdentityRoundTripsExactly) {
  const auto c = make_update_codec(spec_of(K::kIdentity));
  EncodedUpdate e;
  for (const std::size_t n : kSizes) {
    const auto x = random_update(n, 1);
    std::size_t b = 0;
    EXPECT_EQ(round_trip(*c, x, 1, e, &b), x);
    EXPECT_EQ(b, 4 * n);
  }
}

TEST(CompressUpdateCodec, Fp16IsRoundToNearestEvenWithinHalfUlp) {
  const auto c = make_update_codec(spec_of(K::kFp16));
  EncodedUpdate e;
  for (const std::size_t n : kSizes) {
    const auto x = random_update(n, 2);
    std::size_t b = 0;
    const auto y = round_trip(*c, x, 1, e, &b);
    EXPECT_EQ(b, 2 * n);
    for (std::size_t i = 0; i < n; ++i) {
      // |x| < 65504 and normal range here: relative error <= 2^-11.
      EXPECT_LE(std::fabs(y[i] - x[i]), std::ldexp(std::fabs(x[i]), -11) + 0x1p-25f) << i;
    }
  }
  // Exactly representable values pass unchanged; ties round to even.
  const std::vector<float> exact = {0.0f, 1.0f, -2.5f, 0.099975586f, 65504.0f, 0x1p-24f};
  EXPECT_EQ(round_trip(*c, exact, 1, e), exact);
  const std::vector<float> ties = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f};
  const std::vector<float> even = {1.0f, 1.0f + 4 * 0x1p-11f};
  EXPECT_EQ(round_trip(*c, ties, 1, e), even);
}

TEST(CompressUpdateCodec, TopKKeepsExactlyTheKLargest) {
  for (const int q : {0, 8}) {
    auto s = spec_of(K::kTopK);
    s.quantize_bits = q;
    const auto c = make_update_codec(s);
    EncodedUpdate e;
    for (const std::size_t n : kSizes) {
      const auto x = random_update(n, 3);
      std::size_t b = 0;
      const auto y = round_trip(*c, x, 1, e, &b);
      const std::size_t k =
          std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(0.1 * n)));
      ASSERT_EQ(e.kept, k);
      EXPECT_EQ(b, support(n, k) + (q == 0 ? 4 * k : 8 + pbytes(k, 8)));
      std::vector<float> mags(n);
      for (std::size_t i = 0; i < n; ++i) mags[i] = std::fabs(x[i]);
      std::sort(mags.begin(), mags.end(), std::greater<>{});
      const float kth = mags[k - 1];
      std::size_t nonzero = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (std::fabs(x[i]) >= kth) {
          if (q == 0) {
            EXPECT_EQ(y[i], x[i]) << i;
          } else {  // 8-bit values: within one grid step of the kept range
            EXPECT_NEAR(y[i], x[i], 2 * mags[0] / 255 + 1e-6f) << i;
          }
        } else {
          EXPECT_EQ(y[i], 0.0f) << i;
        }
        nonzero += y[i] != 0.0f;
      }
      if (q == 0) {
        EXPECT_EQ(nonzero, k);
      }
    }
  }
}

TEST(CompressUpdateCodec, TopKBreaksTiesByLowerIndex) {
  auto s = spec_of(K::kTopK);
  s.ratio = 0.25;
  const auto c = make_update_codec(s);
  EncodedUpdate e;
  const std::vector<float> x = {1, -3, 2, 3, 3, -1, 0, 3};  // k = 2: indices 1 and 3
  const std::vector<float> want = {0, -3, 0, 3, 0, 0, 0, 0};
  EXPECT_EQ(round_trip(*c, x, 1, e), want);
}

TEST(CompressUpdateCodec, SparseSupportUsesBitmaskWhenSmaller) {
  auto s = spec_of(K::kTopK);
  s.ratio = 0.5;  // n = 1000, k = 500: indices 500*10 bits > 1000-bit mask
  const auto c = make_update_codec(s);
  EncodedUpdate e;
  const auto x = random_update(1000, 4);
  std::size_t b = 0;
  const auto y = round_trip(*c, x, 1, e, &b);
  EXPECT_TRUE(e.bitmask);
  EXPECT_EQ(b, 125 + 4 * 500);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (y[i] != 0.0f) {
      EXPECT_EQ(y[i], x[i]);
      ++kept;
    }
  }
  EXPECT_EQ(kept, 500u);
  s.ratio = 0.01;  // k = 10: 10 * 10 bits < 1000 bits
  Rng rng(1, Purpose::kUplink);
  EXPECT_EQ(make_update_codec(s)->encode(x, rng, e), support(1000, 10) + 40);
  EXPECT_FALSE(e.bitmask);
}

TEST(CompressUpdateCodec, ThresholdTopKKeepsAllAboveItsThreshold) {
  auto s = spec_of(K::kThresholdTopK);
  s.ratio = 0.05;
  s.sample_size = 512;
  const auto c = make_update_codec(s);
  EncodedUpdate e;
  const std::size_t n = 20000;
  const auto x = random_update(n, 5);
  std::size_t b = 0;
  const auto y = round_trip(*c, x, 3, e, &b);
  const std::size_t m = e.kept;
  EXPECT_EQ(b, 4 + support(n, m) + 4 * m);
  // The kept set is {|x| >= t}: every kept element dominates every dropped one.
  float min_kept = INFINITY, max_dropped = 0;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (y[i] != 0.0f) {
      EXPECT_EQ(y[i], x[i]);
      min_kept = std::min(min_kept, std::fabs(x[i]));
      ++kept;
    } else {
      max_dropped = std::max(max_dropped, std::fabs(x[i]));
    }
  }
  EXPECT_EQ(kept, m);
  EXPECT_GT(min_kept, max_dropped);
  // The sample estimate lands near k = 1000 (binomial spread of a 512 sample).
  EXPECT_GT(m, 500u);
  EXPECT_LT(m, 2000u);
}

TEST(CompressUpdateCodec, SignPreservesSignsWithMeanAbsScale) {
  const auto c = make_update_codec(spec_of(K::kSign));
  EncodedUpdate e;
  for (const std::size_t n : kSizes) {
    const auto x = random_update(n, 6);
    std::size_t b = 0;
    const auto y = round_trip(*c, x, 1, e, &b);
    EXPECT_EQ(b, 4 + pbytes(n, 1));
    double mean = 0;
    for (const float v : x) mean += std::fabs(v);
    const auto scale = static_cast<float>(mean / static_cast<double>(n));
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(std::signbit(y[i]), x[i] < 0.0f) << i;
      EXPECT_EQ(std::fabs(y[i]), scale) << i;
    }
  }
}

TEST(CompressUpdateCodec, DenseQuantizerByteCounts) {
  EncodedUpdate e;
  for (const int bits : {1, 3, 4, 8, 16}) {
    auto s = spec_of(K::kUniform);
    s.bits = bits;
    const auto c = make_update_codec(s);
    for (const std::size_t n : kSizes) {
      std::size_t b = 0;
      round_trip(*c, random_update(n, 7), 1, e, &b);
      EXPECT_EQ(b, 8 + pbytes(n, static_cast<std::size_t>(bits)));
    }
  }
  for (const int levels : {1, 3, 7, 15, 255}) {
    for (const std::size_t d : {1u, 64u, 512u}) {
      auto s = spec_of(K::kQsgd);
      s.levels = levels;
      s.bucket_size = d;
      const auto c = make_update_codec(s);
      for (const std::size_t n : kSizes) {
        std::size_t b = 0;
        const auto x = random_update(n, 8);
        const auto y = round_trip(*c, x, 1, e, &b);
        const auto code_bits =
            1 + static_cast<std::size_t>(std::bit_width(static_cast<unsigned>(levels)));
        EXPECT_EQ(b, 4 * ((n + d - 1) / d) + pbytes(n, code_bits));
        for (std::size_t i = 0; i < n; ++i) {
          // Sign kept (or zeroed).
          EXPECT_TRUE(y[i] == 0.0f || std::signbit(y[i]) == std::signbit(x[i])) << i;
        }
      }
    }
  }
  {
    auto s = spec_of(K::kRandK);
    s.quantize_bits = 5;
    const auto c = make_update_codec(s);
    for (const std::size_t n : kSizes) {
      std::size_t b = 0;
      round_trip(*c, random_update(n, 9), 1, e, &b);
      const std::size_t k =
          std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(0.1 * n)));
      EXPECT_EQ(b, support(n, k) + 8 + pbytes(k, 5));
    }
  }
}

TEST(CompressUpdateCodec, UniformStaysWithinOneStepAndHitsExtremes) {
  auto s = spec_of(K::kUniform);
  s.bits = 3;
  const auto c = make_update_codec(s);
  EncodedUpdate e;
  const auto x = random_update(1000, 10);
  const auto y = round_trip(*c, x, 1, e);
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  const float step = (*hi - *lo) / 7;
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_LE(std::fabs(y[i] - x[i]), step * 1.0001f) << i;
  EXPECT_EQ(y[static_cast<std::size_t>(lo - x.begin())], *lo);
  // A constant vector decodes exactly.
  const std::vector<float> flat(37, 0.75f);
  EXPECT_EQ(round_trip(*c, flat, 1, e), flat);
}

/// Mean over seeds of decode(encode(x)) is x within 5 standard errors per element.
void expect_unbiased(const UpdateCodecSpec& s, std::size_t n, int trials) {
  const auto c = make_update_codec(s);
  const auto x = random_update(n, 12);
  std::vector<double> sum(n, 0.0), sum2(n, 0.0);
  std::vector<float> y(n);
  EncodedUpdate e;
  for (int t = 0; t < trials; ++t) {
    Rng rng(99, Purpose::kUplink, static_cast<std::uint64_t>(t));
    c->encode(x, rng, e);
    c->decode(e, y);
    for (std::size_t i = 0; i < n; ++i) {
      sum[i] += y[i];
      sum2[i] += static_cast<double>(y[i]) * y[i];
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double mean = sum[i] / trials;
    const double var = std::max(0.0, sum2[i] / trials - mean * mean);
    const double se = std::sqrt(var / trials);
    EXPECT_NEAR(mean, x[i], 5 * se + 1e-5 * (1 + std::fabs(x[i]))) << "element " << i;
  }
}

TEST(CompressUpdateCodec, RandKIsUnbiased) {
  auto s = spec_of(K::kRandK);
  s.ratio = 0.25;
  expect_unbiased(s, 40, 4000);
  s.quantize_bits = 4;  // composed with the unbiased quantizer: still unbiased
  expect_unbiased(s, 40, 4000);
}

TEST(CompressUpdateCodec, QsgdIsUnbiased) {
  auto s = spec_of(K::kQsgd);
  s.levels = 2;
  s.bucket_size = 16;
  expect_unbiased(s, 40, 4000);
}

TEST(CompressUpdateCodec, UniformIsUnbiased) {
  auto s = spec_of(K::kUniform);
  s.bits = 2;
  expect_unbiased(s, 40, 4000);
}

TEST(CompressUpdateCodec, RandKIsSeededAndScaled) {
  auto s = spec_of(K::kRandK);
  s.ratio = 0.1;
  const auto c = make_update_codec(s);
  EncodedUpdate e1, e2, e3;
  const auto x = random_update(500, 13);
  const auto y1 = round_trip(*c, x, 5, e1);
  const auto y2 = round_trip(*c, x, 5, e2);
  const auto y3 = round_trip(*c, x, 6, e3);
  EXPECT_EQ(y1, y2);
  EXPECT_NE(y1, y3);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (y1[i] != 0.0f) {
      EXPECT_FLOAT_EQ(y1[i], 10.0f * x[i]);
      ++kept;
    }
  }
  EXPECT_EQ(kept, 50u);
}

TEST(CompressUpdateCodec, DecodeAddIsWeightTimesDecode) {
  for (const K kind : kAllKinds) {
    auto s = spec_of(kind);
    if (kind == K::kTopK) s.quantize_bits = 6;
    const auto c = make_update_codec(s);
    EncodedUpdate e;
    const auto x = random_update(1000, 14);
    const auto y = round_trip(*c, x, 1, e);
    for (const float w : {1.0f, -0.5f, 0.3f}) {
      std::vector<float> acc(x.size(), 0.0f);
      c->decode_add(e, w, acc);
      for (std::size_t i = 0; i < x.size(); ++i)
        ASSERT_EQ(acc[i], w * y[i]) << static_cast<int>(kind);
      // Adding onto a non-zero accumulator.
      std::vector<float> acc2(x.size(), 2.0f);
      c->decode_add(e, w, acc2);
      for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(acc2[i], 2.0f + w * y[i]);
    }
  }
}

TEST(CompressUpdateCodec, ReencodingTheSameSizeDoesNotReallocate) {
  for (const K kind : kAllKinds) {
    auto s = spec_of(kind);
    s.quantize_bits = kind == K::kRandK ? 4 : 0;
    const auto c = make_update_codec(s);
    EncodedUpdate e;
    round_trip(*c, random_update(3000, 15), 1, e);
    const auto* bytes = e.bytes.data();
    const auto* work = e.work.data();
    const auto* values = e.values.data();
    for (std::uint64_t t = 0; t < 5; ++t) round_trip(*c, random_update(3000, 16 + t), t, e);
    EXPECT_EQ(e.bytes.data(), bytes) << static_cast<int>(kind);
    EXPECT_EQ(e.work.data(), work) << static_cast<int>(kind);
    EXPECT_EQ(e.values.data(), values) << static_cast<int>(kind);
  }
}

TEST(CompressUpdateCodec, SpecValidationNamesTheKey) {
  auto s = spec_of(K::kTopK);
  s.ratio = 0.0;
  try {
    make_update_codec(s);
    FAIL() << "no throw";
  } catch (const ConfigError& err) {
    EXPECT_EQ(err.key(), "uplink.ratio");
  }
  s = spec_of(K::kQsgd);
  s.levels = 0;
  EXPECT_THROW(make_update_codec(s), ConfigError);
  s = spec_of(K::kUniform);
  s.bits = 17;
  EXPECT_THROW(make_update_codec(s), ConfigError);
  s = spec_of(K::kRandK);
  s.quantize_bits = -1;
  EXPECT_THROW(make_update_codec(s), ConfigError);
}

TEST(CompressUpdateCodec, DecodeRejectsAForeignMessage) {
  const auto a = make_update_codec(spec_of(K::kSign));
  const auto b = make_update_codec(spec_of(K::kFp16));
  EncodedUpdate e;
  const auto x = random_update(10, 17);
  round_trip(*a, x, 1, e);
  std::vector<float> y(10);
  EXPECT_THROW(b->decode(e, y), InternalError);
  std::vector<float> wrong(9);
  EXPECT_THROW(a->decode(e, wrong), InternalError);
}

TEST(CompressUpdateCodec, MessageBytesDoNotDependOnBufferHistory) {
  for (const K kind : kAllKinds) {
    auto s = spec_of(kind);
    s.ratio = 0.3;
    s.quantize_bits = kind == K::kTopK ? 3 : 0;
    const auto c = make_update_codec(s);
    EncodedUpdate used, fresh;
    round_trip(*c, random_update(5000, 18), 7, used);  // leaves stale bytes behind
    const auto x = random_update(1001, 19);
    round_trip(*c, x, 8, used);
    round_trip(*c, x, 8, fresh);
    EXPECT_EQ(used.bytes, fresh.bytes) << static_cast<int>(kind);
  }
}

TEST(CompressUpdateCodec, SignMagnitudeGridIsUnbiasedAndKeepsSigns) {
  auto s = spec_of(K::kRandK);  // rand-k: every element is kept in some trial
  s.ratio = 0.25;
  s.quantize_bits = 3;
  s.value_grid = ValueGrid::kSignMagnitude;
  expect_unbiased(s, 40, 4000);
  // Top-k: one sign bit and 2^(q-1) levels over [min |v|, max |v|] of the kept
  // values; the decoded value keeps the sign and lies within one level.
  s = spec_of(K::kTopK);
  s.quantize_bits = 4;
  s.value_grid = ValueGrid::kSignMagnitude;
  const auto c = make_update_codec(s);
  for (const std::size_t n : kSizes) {
    const auto x = random_update(n, 5);
    EncodedUpdate e;
    std::size_t bytes = 0;
    const auto y = round_trip(*c, x, 3, e, &bytes);
    const std::size_t k = kept_count(n, s.ratio);
    EXPECT_EQ(bytes, support(n, k) + 8 + pbytes(k, 4)) << n;
    float lo = INFINITY, hi = 0.0f;
    for (std::size_t i = 0; i < n; ++i)
      if (y[i] != 0.0f) {
        lo = std::min(lo, std::fabs(x[i]));
        hi = std::max(hi, std::fabs(x[i]));
      }
    const float step = (hi - lo) / 7.0f;
    for (std::size_t i = 0; i < n; ++i) {
      if (y[i] == 0.0f) continue;
      EXPECT_EQ(std::signbit(y[i]), std::signbit(x[i])) << n << " " << i;
      EXPECT_LE(std::fabs(y[i] - x[i]), step * 1.0001f + 1e-6f) << n << " " << i;
      EXPECT_GE(std::fabs(y[i]), lo * 0.9999f) << "no level below the smallest kept magnitude";
    }
  }
}

TEST(CompressUpdateCodec, PerVariableTopKKeepsTheLargestOfEveryVariable) {
  // Three variables of very different scales: global top-k would spend every
  // kept entry on the large one; per-variable keeps k_s of each.
  const std::vector<std::size_t> sizes = {30, 200, 17};
  std::vector<float> x;
  for (std::size_t v = 0; v < sizes.size(); ++v) {
    const auto part = random_update(sizes[v], 40 + v);
    for (const float a : part) x.push_back(a * (v == 1 ? 1000.0f : 1.0f));
  }
  auto s = spec_of(K::kTopK);
  s.scope = TopKScope::kLayer;
  s.segment_ends = {30, 230, 247};
  const auto c = make_update_codec(s);
  EncodedUpdate e;
  std::size_t bytes = 0;
  const auto y = round_trip(*c, x, 1, e, &bytes);
  std::size_t k_total = 0, begin = 0;
  for (std::size_t v = 0; v < sizes.size(); ++v) {
    const std::size_t end = s.segment_ends[v], k = kept_count(sizes[v], s.ratio);
    k_total += k;
    std::vector<float> mags;
    for (std::size_t i = begin; i < end; ++i) mags.push_back(std::fabs(x[i]));
    std::sort(mags.begin(), mags.end(), std::greater<float>());
    std::size_t kept = 0;
    for (std::size_t i = begin; i < end; ++i) {
      if (y[i] == 0.0f) continue;
      ++kept;
      EXPECT_EQ(y[i], x[i]);
      EXPECT_GE(std::fabs(x[i]), mags[k - 1]) << "variable " << v;
    }
    EXPECT_EQ(kept, k) << "variable " << v;
    begin = end;
  }
  EXPECT_EQ(e.kept, k_total);
  EXPECT_EQ(bytes, support(x.size(), k_total) + 4 * k_total);
}

TEST(CompressUpdateCodec, SignMagnitudeNeedsASignBitAndALevel) {
  auto s = spec_of(K::kTopK);
  s.quantize_bits = 1;
  s.value_grid = ValueGrid::kSignMagnitude;
  try {
    s.validate();
    FAIL() << "accepted 1-bit sign_magnitude";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("uplink.value_grid"), std::string::npos);
  }
}

TEST(CompressUpdateCodec, RiceSupportRoundTripsWithItsExactSize) {
  for (const K kind : {K::kTopK, K::kThresholdTopK, K::kRandK}) {
    for (const int q : {0, 4}) {
      auto s = spec_of(kind);
      s.ratio = 0.05;
      s.quantize_bits = q;
      s.value_grid = q ? ValueGrid::kSignMagnitude : ValueGrid::kRange;
      auto fixed = s;
      s.index_coding = IndexCoding::kRice;
      const auto c = make_update_codec(s), f = make_update_codec(fixed);
      for (const std::size_t n : kSizes) {
        const auto x = random_update(n, 21);
        EncodedUpdate e, ef;
        std::size_t bytes = 0;
        const auto y = round_trip(*c, x, 4, e, &bytes);
        const auto z = round_trip(*f, x, 4, ef);
        EXPECT_EQ(y, z) << "the support coding changes nothing decoded; n " << n;
        // The exact size: values, one byte for b, the Rice bits of the best b.
        std::vector<std::uint32_t> idx;
        for (std::size_t i = 0; i < n; ++i)
          if (z[i] != 0.0f || (q == 0 && ef.kept == n)) idx.push_back(static_cast<std::uint32_t>(i));
        if (idx.size() != e.kept) continue;  // a kept value quantized to exactly 0: size not recomputable here
        std::size_t best = SIZE_MAX;
        for (int b = 0; b <= 24; ++b) {
          std::size_t bits = idx.size() * static_cast<std::size_t>(b + 1);
          std::uint32_t prev = ~0u;
          for (const auto i : idx) {
            bits += (i - prev - 1) >> b;
            prev = i;
          }
          best = std::min(best, bits);
        }
        const std::size_t header = kind == K::kThresholdTopK ? 4 : 0;
        const std::size_t values = q == 0 ? 4 * e.kept : 8 + pbytes(e.kept, 4);
        EXPECT_EQ(bytes, header + values + 1 + (best + 7) / 8) << n;
      }
    }
  }
  // At 1 % of LeNet-5's 61,706 parameters the gaps average ~100: about 8.3
  // bits per index instead of 16.
  auto s = spec_of(K::kTopK);
  s.ratio = 0.01;
  s.index_coding = IndexCoding::kRice;
  const auto c = make_update_codec(s);
  const auto x = random_update(61706, 3);
  EncodedUpdate e;
  Rng rng(1, Purpose::kUplink);
  const std::size_t bytes = c->encode(x, rng, e);
  EXPECT_LT(bytes - 4 * e.kept, e.kept * 9 / 8 + 1);
  EXPECT_GT(bytes - 4 * e.kept, e.kept * 7 / 8);
}
