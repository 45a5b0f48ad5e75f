// Compressed error-feedback residual store: per-form round trips against the
// header's guarantees, fp16 conversion against an independent reference, int8
// unbiasedness over keyed streams, sparse top-k selection, byte accounting and
// checkpoint blobs.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fedhpc/compress/quantizer.hpp"
#include "fedhpc/compress/residual_store.hpp"
#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

using namespace fedhpc;
using namespace fedhpc::compress;
using F = ResidualForm;

namespace {

constexpr F kAllForms[] = {F::kFp32, F::kFp16, F::kInt8, F::kSparse, F::kSparse16};

ResidualSpec spec_of(F form, double ratio = 0.1, std::size_t block = 64) {
  ResidualSpec s;
  s.form = form;
  s.sparse_ratio = ratio;
  s.int8_block = block;
  return s;
}

std::vector<float> random_residual(std::size_t n, std::uint64_t key, double sd = 1.0) {
  Rng rng(5, Purpose::kBench, n, key);
  std::vector<float> x(n);
  for (auto& v : x) v = static_cast<float>(sd * rng.normal());
  return x;
}

std::vector<float> load_of(const ResidualStore& s, std::size_t slot) {
  std::vector<float> y(s.size(), 777.0f);
  s.load(slot, y);
  return y;
}

/// Bitwise equality (distinguishes -0 from +0).
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), 4 * a.size()) == 0;
}

/// Reference binary16 value of code h, by ldexp (independent of the bit tricks).
double fp16_value_ref(std::uint16_t h) {
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double mag = e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
  return (h & 0x8000) ? -mag : mag;
}

/// Reference encoder: quantizer.hpp's float mode with e = 5, m = 10, nearest.
std::vector<std::uint16_t> fp16_codes_ref(const std::vector<float>& x) {
  std::vector<std::byte> buf(2 * x.size());
  encode_float(x.data(), x.size(), FloatFormat{5, 10}, Affine{}, Rounding::kNearest, nullptr,
               buf.data());
  std::vector<std::uint16_t> h(x.size());
  std::memcpy(h.data(), buf.data(), buf.size());  // 16-bit codes: little-endian bitstream
  return h;
}

std::size_t int8_bytes(std::size_t n, std::size_t block) {
  return n + 4 * ((n + block - 1) / block);
}

/// Scale stored in front of int8 block b of a blob.
float int8_scale_of(std::span<const std::byte> blob, std::size_t block, std::size_t b) {
  float s;
  std::memcpy(&s, blob.data() + b * (4 + block), 4);
  return s;
}

}  // namespace

TEST(ResidualStore, Fp32RoundTripIsExact) {
  ResidualStore s(spec_of(F::kFp32), 257, 3);
  auto x = random_residual(257, 1);
  x[0] = -0.0f;
  x[1] = 0x1p-149f;  // smallest subnormal
  x[2] = std::numeric_limits<float>::max();
  x[3] = -3.0e38f;
  Rng rng(1, Purpose::kResidual);
  s.store(1, x, rng);
  EXPECT_TRUE(same_bits(load_of(s, 1), x));
  EXPECT_EQ(s.bytes(1), 4 * 257u);
  // add_to on a base adds exactly the stored values.
  std::vector<float> base(257, 0.5f), want(257);
  for (std::size_t i = 0; i < 257; ++i) want[i] = 0.5f + x[i];
  s.add_to(1, base);
  EXPECT_TRUE(same_bits(base, want));
}

TEST(ResidualStore, Fp16ConversionIsExactOnEveryCode) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto code = static_cast<std::uint16_t>(h);
    if ((code & 0x7c00) == 0x7c00) continue;  // inf / NaN: never produced
    const float v = fp16_to_float(code);
    ASSERT_EQ(static_cast<double>(v), fp16_value_ref(code)) << std::hex << h;
    ASSERT_EQ(std::signbit(v), (code & 0x8000) != 0) << std::hex << h;
    ASSERT_EQ(fp16_from_float(v), code) << std::hex << h;
  }
}

TEST(ResidualStore, Fp16RoundsToNearestEven) {
  // Midpoints between neighbouring codes (exact in float: 12 significant bits)
  // go to the even code; a hair above/below goes to the nearer one.
  for (std::uint16_t h = 0; h < 0x7bff; ++h) {
    for (const std::uint16_t sign : {std::uint16_t{0}, std::uint16_t{0x8000}}) {
      const auto lo = static_cast<std::uint16_t>(h | sign), hi = static_cast<std::uint16_t>(lo + 1);
      const float mid = static_cast<float>((fp16_value_ref(lo) + fp16_value_ref(hi)) / 2);
      ASSERT_EQ(fp16_from_float(mid), (lo & 1) ? hi : lo) << std::hex << lo;
      const float up = std::nextafter(mid, sign ? -1e9f : 1e9f);
      const float down = std::nextafter(mid, 0.0f);
      ASSERT_EQ(fp16_from_float(up), hi) << std::hex << lo;
      ASSERT_EQ(fp16_from_float(down), lo) << std::hex << lo;
    }
  }
  // Independent reference (quantizer float mode e5m10) on random magnitudes.
  std::vector<float> x(20000);
  Rng rng(3, Purpose::kBench);
  for (auto& v : x) {
    const int e = static_cast<int>(rng.below(44)) - 30;  // |x| ~ 2^-30 .. 2^13
    v = static_cast<float>(rng.normal() * std::ldexp(1.0, e));
  }
  const auto ref = fp16_codes_ref(x);
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(fp16_from_float(x[i]), ref[i]) << x[i];
}

TEST(ResidualStore, Fp16SaturatesInsteadOfInfinity) {
  EXPECT_EQ(fp16_from_float(65504.0f), 0x7bff);
  EXPECT_EQ(fp16_from_float(65519.0f), 0x7bff);
  EXPECT_EQ(fp16_from_float(65520.0f), 0x7bff);  // IEEE would round this tie to inf
  EXPECT_EQ(fp16_from_float(1e30f), 0x7bff);
  EXPECT_EQ(fp16_from_float(-std::numeric_limits<float>::max()), 0xfbff);
  EXPECT_EQ(fp16_from_float(std::numeric_limits<float>::infinity()), 0x7bff);
  EXPECT_EQ(fp16_from_float(0x1p-26f), 0x0000);  // below half the smallest subnormal
  EXPECT_EQ(fp16_from_float(-0x1p-24f), 0x8001);

  ResidualStore s(spec_of(F::kFp16), 6, 1);
  const std::vector<float> x = {70000.0f, -1e9f, 1.0f, -2.5f, 0x1p-24f, 65504.0f};
  Rng rng(1, Purpose::kResidual);
  s.store(0, x, rng);
  EXPECT_EQ(s.bytes(0), 12u);
  const std::vector<float> want = {65504.0f, -65504.0f, 1.0f, -2.5f, 0x1p-24f, 65504.0f};
  EXPECT_TRUE(same_bits(load_of(s, 0), want));
}

TEST(ResidualStore, Fp16StoreRoundTripsRepresentableValues) {
  std::vector<float> x;
  for (std::uint32_t h = 0; h < 0x10000; h += 7)
    if ((h & 0x7c00) != 0x7c00) x.push_back(fp16_to_float(static_cast<std::uint16_t>(h)));
  ResidualStore s(spec_of(F::kFp16), x.size(), 2);
  Rng rng(1, Purpose::kResidual);
  s.store(1, x, rng);
  EXPECT_TRUE(same_bits(load_of(s, 1), x));
}

TEST(ResidualStore, Int8IsUnbiasedOverKeyedStreams) {
  // Mean of S decodes per element: std error <= scale / (2 sqrt(S)); allow 5x.
  constexpr std::size_t n = 1000, block = 64, streams = 2000;
  auto x = random_residual(n, 4);
  for (std::size_t i = 128; i < 192; ++i) x[i] *= 1e-3f;  // a block of its own scale
  ResidualStore s(spec_of(F::kInt8, 0.1, block), n, 1);
  std::vector<double> mean(n, 0.0);
  std::vector<float> y(n);
  for (std::size_t k = 0; k < streams; ++k) {
    Rng rng(42, Purpose::kResidual, 7, k);
    s.store(0, x, rng);
    s.load(0, y);
    for (std::size_t i = 0; i < n; ++i) mean[i] += y[i];
  }
  const auto blob = s.blob(0);
  double signed_sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    mean[i] /= streams;
    const double scale = int8_scale_of(blob, block, i / block);
    const double tol = 5.0 * scale / (2.0 * std::sqrt(static_cast<double>(streams)));
    EXPECT_NEAR(mean[i], x[i], tol) << i;
    signed_sum += (mean[i] - x[i]) / scale;
  }
  // No systematic drift either: the average normalised bias is ~N(0, 1/(4 S n)).
  EXPECT_LT(std::fabs(signed_sum / n), 5.0 / (2.0 * std::sqrt(double{streams} * n)));
}

TEST(ResidualStore, Int8ErrorWithinOneScaleAndZeroBlocks) {
  constexpr std::size_t n = 1000, block = 96;  // 11 blocks, the last of 40
  auto x = random_residual(n, 5, 3.0);
  std::fill(x.begin() + 96, x.begin() + 192, 0.0f);  // block 1 all zero
  std::fill(x.begin() + 960, x.end(), 0.0f);         // the short last block all zero
  std::fill(x.begin() + 192, x.begin() + 288, 0.0f);
  x[200] = -4.0f;                                          // block 2: one nonzero
  for (std::size_t i = 288; i < 384; ++i) x[i] *= 1e-30f;  // tiny scale
  ResidualStore s(spec_of(F::kInt8, 0.1, block), n, 1);
  Rng rng(9, Purpose::kResidual, 1, 2);
  s.store(0, x, rng);
  ASSERT_EQ(s.bytes(0), int8_bytes(n, block));
  const auto blob = s.blob(0);
  const auto y = load_of(s, 0);
  for (std::size_t b = 0; b * block < n; ++b) {
    const std::size_t i0 = b * block, i1 = std::min(n, i0 + block);
    float amax = 0.0f;
    for (std::size_t i = i0; i < i1; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float scale = int8_scale_of(blob, block, b);
    // s = max|x| / 127, rounded up to the next float at most.
    EXPECT_GE(static_cast<double>(scale) * 127.0, amax) << b;
    EXPECT_LE(scale, std::nextafter(amax / 127.0f, 1e30f)) << b;
    for (std::size_t i = i0; i < i1; ++i) {
      EXPECT_LE(std::fabs(y[i] - x[i]), scale) << i;
      // Decoded values are integer multiples of the scale, |code| <= 127.
      if (scale > 0.0f) {
        const double q = static_cast<double>(y[i]) / scale;
        EXPECT_NEAR(q, std::round(q), 1e-4) << i;
        EXPECT_LE(std::fabs(q), 127.0 + 1e-4) << i;
      }
    }
  }
  for (const std::size_t b : {std::size_t{1}, std::size_t{10}}) {
    EXPECT_EQ(int8_scale_of(blob, block, b), 0.0f) << b;
    const std::size_t i0 = b * block, m = std::min(block, n - i0);
    for (std::size_t j = 0; j < m; ++j)
      EXPECT_EQ(blob[b * (4 + block) + 4 + j], std::byte{0}) << b << " " << j;
    for (std::size_t j = 0; j < m; ++j) EXPECT_EQ(y[i0 + j], 0.0f);
  }
  // One uniform draw per element, whatever the data: the stream ends at n draws.
  Rng ref(9, Purpose::kResidual, 1, 2);
  for (std::size_t i = 0; i < n; ++i) ref.next();
  EXPECT_EQ(rng.next(), ref.next());
}

TEST(ResidualStore, Int8CodesMatchPlainReference) {
  // The vectorized kernel against floor() in float with the same draws, in element order.
  constexpr std::size_t n = 1000, block = 300;
  auto x = random_residual(n, 14);
  x[5] = 0.0f;
  x[6] = -0.0f;
  ResidualStore s(spec_of(F::kInt8, 0.1, block), n, 1);
  Rng rng(3, Purpose::kResidual, 4, 5), ref(3, Purpose::kResidual, 4, 5);
  s.store(0, x, rng);
  const auto blob = s.blob(0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t b = i / block;
    const float scale = int8_scale_of(blob, block, b);
    const float t = std::clamp(x[i] / scale, -127.0f, 127.0f);
    const float f = std::floor(t);
    const float u = ref.uniformf();
    const int code = static_cast<int>(f) + (u < t - f ? 1 : 0);
    const auto got = static_cast<std::int8_t>(blob[b * (4 + block) + 4 + i % block]);
    ASSERT_EQ(got, code) << i;
  }
}

TEST(ResidualStore, SparseSelectionMatchesSortReference) {
  // Reference: stable sort by |x| descending (ties: lower index), first k, zeros dropped.
  const auto reference = [](const std::vector<float>& x, double ratio) {
    const std::size_t n = x.size();
    const std::size_t k = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::llround(ratio * static_cast<double>(n))), 1, n);
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::fabs(x[a]) > std::fabs(x[b]);
    });
    std::vector<float> want(n, 0.0f);
    std::size_t m = 0;
    for (std::size_t j = 0; j < k; ++j) {
      if (x[order[j]] == 0.0f) continue;
      want[order[j]] = x[order[j]];
      ++m;
    }
    return std::pair{want, m};
  };
  for (const std::size_t n : {1, 2, 3, 10, 257, 4099}) {
    for (const double ratio : {0.001, 0.1, 0.5, 1.0}) {
      for (int kind = 0; kind < 5; ++kind) {
        auto x = random_residual(n, 15 + kind);
        for (std::size_t i = 0; i < n; ++i) {
          if (kind == 1) x[i] = std::round(x[i] * 2.0f) / 2.0f;           // many ties and zeros
          if (kind == 2) x[i] = (i % 3) ? 0.0f : 1.0f;                    // equal magnitudes
          if (kind == 3) x[i] = 1.0f + static_cast<float>(i) * 0x1p-23f;  // one histogram bucket
          if (kind == 4) x[i] = (i % 2 ? -1.0f : 1.0f) * static_cast<float>(i % 7) * 0x1p-140f;
        }
        const auto [want, m] = reference(x, ratio);
        ResidualStore s(spec_of(F::kSparse, ratio), n, 1);
        Rng rng(1, Purpose::kResidual);
        s.store(0, x, rng);
        EXPECT_EQ(s.bytes(0), 4 + 8 * m) << n << " " << ratio << " " << kind;
        EXPECT_TRUE(same_bits(load_of(s, 0), want)) << n << " " << ratio << " " << kind;
      }
    }
  }
}

TEST(ResidualStore, SparseKeepsExactlyTheKLargest) {
  constexpr std::size_t n = 1000;
  const auto x = random_residual(n, 6);
  ResidualStore s(spec_of(F::kSparse, 0.05), n, 1);  // k = 50
  Rng rng(1, Purpose::kResidual);
  s.store(0, x, rng);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return std::fabs(x[a]) > std::fabs(x[b]); });
  std::vector<float> want(n, 0.0f);
  for (std::size_t j = 0; j < 50; ++j) want[order[j]] = x[order[j]];
  EXPECT_TRUE(same_bits(load_of(s, 0), want));
  EXPECT_EQ(s.bytes(0), 4 + 8 * 50u);
  // Layout: count, ascending indices, values in index order.
  const auto blob = s.blob(0);
  std::uint32_t count;
  std::memcpy(&count, blob.data(), 4);
  EXPECT_EQ(count, 50u);
  std::vector<std::uint32_t> idx(50);
  std::memcpy(idx.data(), blob.data() + 4, 200);
  EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
  for (std::size_t j = 0; j < 50; ++j) {
    float v;
    std::memcpy(&v, blob.data() + 204 + 4 * j, 4);
    EXPECT_EQ(v, x[idx[j]]);
  }
}

TEST(ResidualStore, SparseBreaksTiesByLowerIndex) {
  // |x| = 1 everywhere but one larger entry: k = 4 keeps it and indices 0, 1, 2.
  std::vector<float> x(40);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (i % 2) ? -1.0f : 1.0f;
  x[30] = 2.0f;
  ResidualStore s(spec_of(F::kSparse, 0.1), x.size(), 1);
  Rng rng(1, Purpose::kResidual);
  s.store(0, x, rng);
  std::vector<float> want(x.size(), 0.0f);
  for (const std::size_t i : {0, 1, 2, 30}) want[i] = x[i];
  EXPECT_EQ(load_of(s, 0), want);
}

TEST(ResidualStore, SparseStoresOnlyNonzerosWhenFewerThanK) {
  constexpr std::size_t n = 100;
  std::vector<float> x(n, 0.0f);
  for (const std::size_t i : {3, 17, 18, 50, 77, 98, 99}) x[i] = static_cast<float>(i) - 40.5f;
  ResidualStore s(spec_of(F::kSparse, 0.5), n, 2);  // k = 50 > 7 nonzeros
  Rng rng(1, Purpose::kResidual);
  s.store(0, x, rng);
  EXPECT_EQ(s.bytes(0), 4 + 8 * 7u);
  EXPECT_EQ(load_of(s, 0), x);
  // All zero: count 0, still a stored slot.
  s.store(1, std::vector<float>(n, 0.0f), rng);
  EXPECT_TRUE(s.has(1));
  EXPECT_EQ(s.bytes(1), 4u);
  EXPECT_EQ(load_of(s, 1), std::vector<float>(n, 0.0f));
}

// sparse16 keeps the same entries as sparse, with fp16 values; indices are
// 16-bit up to n = 65,536 and 32-bit above (both sizes exercised).
TEST(ResidualStore, Sparse16IsSparseWithFp16Values) {
  for (const std::size_t n : {std::size_t{61706}, std::size_t{65536}, std::size_t{65537}, std::size_t{200000}}) {
    const auto x = random_residual(n, 11, 0.01);
    ResidualStore wide(spec_of(F::kSparse, 0.02), n, 1), narrow(spec_of(F::kSparse16, 0.02), n, 1);
    Rng rng(3, Purpose::kResidual);
    wide.store(0, x, rng);
    narrow.store(0, x, rng);
    const std::size_t k = kept_count(n, 0.02), w = n <= 65536 ? 2 : 4;
    EXPECT_EQ(narrow.bytes(0), 4 + (w + 2) * k) << n;
    const auto a = load_of(wide, 0), b = load_of(narrow, 0);
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(a[i] == 0.0f, b[i] == 0.0f) << n << " " << i;  // the same support
      EXPECT_EQ(b[i], fp16_to_float(fp16_from_float(a[i]))) << n << " " << i;
    }
    // The highest index survives the narrow encoding.
    std::vector<float> last(n, 0.0f);
    last[n - 1] = 0.5f;
    narrow.store(0, last, rng);
    EXPECT_EQ(load_of(narrow, 0)[n - 1], 0.5f);
    ResidualStore copy(spec_of(F::kSparse16, 0.02), n, 1);
    copy.set_blob(0, narrow.blob(0));
    EXPECT_TRUE(same_bits(load_of(copy, 0), load_of(narrow, 0)));
  }
}

TEST(ResidualStore, ByteCountsFollowTheFormulas) {
  constexpr std::size_t n = 1000;
  struct Case {
    ResidualSpec spec;
    std::size_t dense;  // expected bytes of a dense store (sparse: k = 100 kept)
  };
  const Case cases[] = {{spec_of(F::kFp32), 4000},
                        {spec_of(F::kFp16), 2000},
                        {spec_of(F::kInt8, 0.1, 256), 1000 + 4 * 4},
                        {spec_of(F::kInt8, 0.1, 1), 5000},
                        {spec_of(F::kInt8, 0.1, 5000), 1004},
                        {spec_of(F::kSparse, 0.1), 4 + 8 * 100},
                        {spec_of(F::kSparse16, 0.1), 4 + 4 * 100}};
  for (const auto& c : cases) {
    EXPECT_EQ(residual_bytes(c.spec, n, 100), c.dense);
    ResidualStore s(c.spec, n, 5);
    EXPECT_EQ(s.total_bytes(), 0u);
    EXPECT_EQ(s.stored_slots(), 0u);
    Rng rng(2, Purpose::kResidual);
    const auto x = random_residual(n, 7);
    s.store(0, x, rng);
    s.store(3, x, rng);
    s.store(3, x, rng);  // replacing keeps the count
    EXPECT_EQ(s.bytes(0), c.dense);
    EXPECT_EQ(s.bytes(1), 0u);
    EXPECT_EQ(s.total_bytes(), 2 * c.dense);
    EXPECT_EQ(s.stored_slots(), 2u);
    // A size change (sparse: 3 nonzeros) adjusts the total; dense sizes are fixed.
    std::vector<float> few(n, 0.0f);
    few[1] = 1.0f;
    few[500] = -2.0f;
    few[999] = 3.0f;
    s.store(3, few, rng);
    const std::size_t b3 = c.spec.form == F::kSparse ? 4 + 8 * 3 : c.spec.form == F::kSparse16 ? 4 + 4 * 3 : c.dense;
    EXPECT_EQ(s.bytes(3), b3);
    EXPECT_EQ(s.total_bytes(), c.dense + b3);
    s.clear(0);
    s.clear(0);  // clearing an empty slot changes nothing
    s.clear(2);
    EXPECT_FALSE(s.has(0));
    EXPECT_EQ(s.bytes(0), 0u);
    EXPECT_EQ(s.total_bytes(), b3);
    EXPECT_EQ(s.stored_slots(), 1u);
    s.set_blob(4, s.blob(3));
    EXPECT_EQ(s.total_bytes(), 2 * b3);
    EXPECT_EQ(s.stored_slots(), 2u);
    s.set_blob(3, {});  // an empty blob clears
    EXPECT_EQ(s.total_bytes(), b3);
    EXPECT_EQ(s.stored_slots(), 1u);
    std::size_t sum = 0;
    for (std::size_t i = 0; i < s.slots(); ++i) sum += s.bytes(i);
    EXPECT_EQ(sum, s.total_bytes());
  }
}

TEST(ResidualStore, BlobRoundTripReproducesLoad) {
  constexpr std::size_t n = 777;
  for (const F form : kAllForms) {
    const auto spec = spec_of(form, 0.2, 100);
    ResidualStore a(spec, n, 2), b(spec, n, 4);
    Rng rng(3, Purpose::kResidual);
    a.store(1, random_residual(n, 8), rng);
    const auto blob = a.blob(1);
    ASSERT_EQ(blob.size(), a.bytes(1));
    b.set_blob(2, blob);
    EXPECT_TRUE(b.has(2));
    EXPECT_EQ(b.bytes(2), a.bytes(1));
    const auto copy = b.blob(2);
    EXPECT_TRUE(std::equal(blob.begin(), blob.end(), copy.begin(), copy.end()));
    EXPECT_TRUE(same_bits(load_of(b, 2), load_of(a, 1))) << static_cast<int>(form);
    EXPECT_TRUE(a.blob(0).empty());
  }
}

TEST(ResidualStore, SetBlobRejectsInconsistentBlobs) {
  constexpr std::size_t n = 10;
  Rng rng(4, Purpose::kResidual);
  const auto x = random_residual(n, 9);
  for (const F form : kAllForms) {
    ResidualStore s(spec_of(form, 0.3, 4), n, 1);
    s.store(0, x, rng);
    const auto before = load_of(s, 0);
    const auto b0 = s.blob(0);
    const std::vector<std::byte> good(b0.begin(), b0.end());
    auto longer = good;
    longer.push_back(std::byte{0});
    EXPECT_THROW(s.set_blob(0, longer), InternalError) << static_cast<int>(form);
    EXPECT_THROW(s.set_blob(0, std::span(good).first(good.size() - 1)), InternalError);
    EXPECT_TRUE(same_bits(load_of(s, 0), before));  // slot untouched
    EXPECT_EQ(s.bytes(0), good.size());
  }
  ResidualStore s(spec_of(F::kSparse, 0.3), n, 1);  // k = 3
  s.store(0, x, rng);
  const auto b0 = s.blob(0);
  const std::vector<std::byte> blob(b0.begin(), b0.end());
  const auto with_u32 = [&](std::size_t at, std::uint32_t v) {
    auto b = blob;
    std::memcpy(b.data() + at, &v, 4);
    return b;
  };
  EXPECT_THROW(s.set_blob(0, with_u32(0, 2)), InternalError);            // count vs size
  EXPECT_THROW(s.set_blob(0, with_u32(4, n)), InternalError);            // index out of range
  EXPECT_THROW(s.set_blob(0, with_u32(8, 0xffffffffu)), InternalError);  // index out of range
  std::uint32_t first;
  std::memcpy(&first, blob.data() + 4, 4);
  EXPECT_THROW(s.set_blob(0, with_u32(8, first)), InternalError);  // not ascending
  EXPECT_THROW(s.set_blob(0, std::vector<std::byte>(3)), InternalError);
  EXPECT_NO_THROW(s.set_blob(0, blob));
}

TEST(ResidualStore, EmptySlotLoadsZerosAndAddsNothing) {
  for (const F form : kAllForms) {
    ResidualStore s(spec_of(form), 50, 3);
    EXPECT_FALSE(s.has(2));
    EXPECT_EQ(load_of(s, 2), std::vector<float>(50, 0.0f));
    const auto x = random_residual(50, 10);
    auto y = x;
    s.add_to(2, y);
    EXPECT_TRUE(same_bits(y, x));
    Rng rng(5, Purpose::kResidual);
    s.store(2, x, rng);
    EXPECT_TRUE(s.has(2));
    s.clear(2);
    EXPECT_FALSE(s.has(2));
    EXPECT_EQ(load_of(s, 2), std::vector<float>(50, 0.0f));
    y = x;
    s.add_to(2, y);
    EXPECT_TRUE(same_bits(y, x));
  }
}

TEST(ResidualStore, AddToEqualsBasePlusLoad) {
  constexpr std::size_t n = 300;
  for (const F form : kAllForms) {
    ResidualStore s(spec_of(form, 0.1, 32), n, 1);
    Rng rng(6, Purpose::kResidual);
    s.store(0, random_residual(n, 11), rng);
    const auto r = load_of(s, 0);
    const auto base = random_residual(n, 12);
    auto y = base;
    s.add_to(0, y);
    std::vector<float> want(n);
    for (std::size_t i = 0; i < n; ++i) want[i] = base[i] + r[i];
    EXPECT_TRUE(same_bits(y, want)) << static_cast<int>(form);
  }
}

TEST(ResidualStore, RejectsNonFiniteResidualsAndWrongSizes) {
  for (const F form : kAllForms) {
    ResidualStore s(spec_of(form), 8, 2);
    Rng rng(7, Purpose::kResidual);
    auto x = random_residual(8, 13);
    s.store(0, x, rng);
    const auto before = load_of(s, 0);
    x[5] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(s.store(0, x, rng), InternalError);
    x[5] = -std::numeric_limits<float>::infinity();
    EXPECT_THROW(s.store(0, x, rng), InternalError);
    EXPECT_TRUE(same_bits(load_of(s, 0), before));
    std::vector<float> wrong(7);
    EXPECT_THROW(s.load(0, wrong), InternalError);
    EXPECT_THROW(s.add_to(0, wrong), InternalError);
    EXPECT_THROW(s.store(1, wrong, rng), InternalError);
    EXPECT_THROW(static_cast<void>(s.has(2)), InternalError);
  }
}

TEST(ResidualStore, ValidateNamesTheKey) {
  const auto key_of = [](const ResidualSpec& spec) -> std::string {
    try {
      spec.validate();
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(e.key()), std::string::npos);
      return e.key();
    }
    return "";
  };
  EXPECT_EQ(key_of(spec_of(F::kSparse, 0.0)), "uplink.residual_ratio");
  EXPECT_EQ(key_of(spec_of(F::kSparse, 1.5)), "uplink.residual_ratio");
  EXPECT_EQ(key_of(spec_of(F::kSparse, -0.1)), "uplink.residual_ratio");
  EXPECT_EQ(key_of(spec_of(F::kSparse, std::nan(""))), "uplink.residual_ratio");
  EXPECT_EQ(key_of(spec_of(F::kInt8, 0.1, 0)), "uplink.residual_block");
  EXPECT_EQ(key_of(spec_of(F::kSparse, 1.0)), "");
  EXPECT_EQ(key_of(spec_of(F::kInt8, 0.1, 1)), "");
  EXPECT_THROW(ResidualStore(spec_of(F::kInt8, 0.1, 0), 10, 1), ConfigError);
  EXPECT_THROW(ResidualStore(spec_of(F::kSparse, 0.0), 10, 1), ConfigError);
}
