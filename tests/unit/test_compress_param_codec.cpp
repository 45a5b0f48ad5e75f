// EncodedParams on the LeNet-5 layout: passthrough, WMOQ, PPQ, sizes,
// determinism, per-variable decode/re-encode and spec validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "fedhpc/compress/param_codec.hpp"
#include "fedhpc/compress/ppq.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

using namespace fedhpc;
using namespace fedhpc::compress;
using model::VarKind;
using Codec = StorageSpec::Codec;

namespace {

model::ParamLayout lenet5_layout() {
  model::ParamLayout l;
  l.add("conv1.weight", {6, 1, 5, 5}, VarKind::kConvKernel);
  l.add("conv1.bias", {6}, VarKind::kBias);
  l.add("conv2.weight", {16, 6, 5, 5}, VarKind::kConvKernel);
  l.add("conv2.bias", {16}, VarKind::kBias);
  l.add("fc1.weight", {120, 400}, VarKind::kDenseWeight);
  l.add("fc1.bias", {120}, VarKind::kBias);
  l.add("fc2.weight", {84, 120}, VarKind::kDenseWeight);
  l.add("fc2.bias", {84}, VarKind::kBias);
  l.add("fc3.weight", {10, 84}, VarKind::kDenseWeight);
  l.add("fc3.bias", {10}, VarKind::kBias);
  return l;
}

constexpr std::size_t kWeightParams = 150 + 2400 + 48000 + 10080 + 840;  // 61,470
constexpr std::size_t kBiasParams = 6 + 16 + 120 + 84 + 10;              // 236

std::vector<float> random_model(const model::ParamLayout& l, std::uint64_t key) {
  Rng rng(21, Purpose::kBench, key);
  std::vector<float> w(l.size());
  for (std::size_t i = 0; i < l.num_vars(); ++i) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(l.var(i).size));
    for (float& v : l.view(std::span<float>(w), i)) v = static_cast<float>(scale * rng.normal());
  }
  return w;
}

bool bitwise_equal(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i])) return false;
  return true;
}

StorageSpec int_spec(int bits, bool weights_only, bool pvt = false, double rho = 0.0) {
  StorageSpec s;
  s.codec = Codec::kInt;
  s.bits = bits;
  s.weights_only = weights_only;
  s.pvt = pvt;
  s.fp32_fraction = rho;
  return s;
}

}  // namespace

TEST(CompressParamCodec, LeNet5LayoutHasTheMethodsParameterCount) {
  EXPECT_EQ(lenet5_layout().size(), 61706u);
  EXPECT_EQ(kWeightParams + kBiasParams, 61706u);
}

TEST(CompressParamCodec, Fp32IsABitwisePassthrough) {
  const auto l = lenet5_layout();
  auto w = random_model(l, 1);
  w[0] = -0.0f;
  w[1] = std::numeric_limits<float>::denorm_min();
  w[2] = std::bit_cast<float>(0x7fc01234u);  // NaN payload
  w[3] = std::numeric_limits<float>::infinity();
  EncodedParams enc(l, StorageSpec{});
  Rng rng(1, Purpose::kStorage);
  enc.encode_all(w, Rounding::kStochastic, rng);
  std::vector<float> back(l.size());
  enc.decode_all(back);
  EXPECT_TRUE(bitwise_equal(w, back));
  EXPECT_EQ(enc.bytes(), 4 * l.size());
  for (std::size_t i = 0; i < l.num_vars(); ++i) EXPECT_FALSE(enc.is_quantized(i));
  EXPECT_EQ(Rng(1, Purpose::kStorage).next(), rng.next());  // passthrough draws nothing
}

TEST(CompressParamCodec, FreshStorageIsTheZeroModel) {
  const auto l = lenet5_layout();
  for (const StorageSpec& s : {StorageSpec{}, int_spec(8, false, true), int_spec(4, true)}) {
    EncodedParams enc(l, s);
    std::vector<float> back(l.size(), 1.0f);
    enc.decode_all(back);
    for (float v : back) ASSERT_EQ(v, 0.0f);
  }
}

TEST(CompressParamCodec, WmoqKeepsBiasesBitwiseExact) {
  const auto l = lenet5_layout();
  const auto w = random_model(l, 2);
  for (bool pvt : {false, true}) {
    EncodedParams enc(l, int_spec(4, /*weights_only=*/true, pvt));
    Rng rng(2, Purpose::kStorage);
    enc.encode_all(w, Rounding::kStochastic, rng);
    std::vector<float> back(l.size());
    enc.decode_all(back);
    for (std::size_t i = 0; i < l.num_vars(); ++i) {
      const auto a = l.view(std::span<const float>(w), i);
      const auto b = l.view(std::span<const float>(back), i);
      EXPECT_EQ(enc.is_quantized(i), l.var(i).is_weight());
      EXPECT_EQ(bitwise_equal(a, b), !l.var(i).is_weight()) << l.var(i).name;
    }
  }
}

TEST(CompressParamCodec, BytesFollowTheStorageFormula) {
  const auto l = lenet5_layout();
  // LeNet-5, 8-bit WMOQ, no PPQ: codes n*8/8 per weight, fp32 biases, lo and s per weight.
  EXPECT_EQ(EncodedParams(l, int_spec(8, true)).bytes(), kWeightParams + 4 * kBiasParams + 5 * 8);
  EXPECT_EQ(EncodedParams(l, int_spec(8, true)).bytes(), 62454u);
  // Naive 8-bit: every variable quantized with its lo and s.
  EXPECT_EQ(EncodedParams(l, int_spec(8, false)).bytes(), l.size() + 10 * 8);
  // PVT adds alpha and beta per quantized variable.
  EXPECT_EQ(EncodedParams(l, int_spec(8, true, true)).bytes(),
            kWeightParams + 4 * kBiasParams + 5 * 16);
  // 6 bits: ceil(n*6/8) per variable.
  std::size_t six = 0;
  for (const auto& v : l.vars()) six += v.is_weight() ? (v.size * 6 + 7) / 8 + 8 : 4 * v.size;
  EXPECT_EQ(EncodedParams(l, int_spec(6, true)).bytes(), six);
  // Float e4m3: 8-bit codes, no scalars without PVT.
  StorageSpec fs;
  fs.codec = Codec::kFloat;
  fs.weights_only = true;
  EXPECT_EQ(EncodedParams(l, fs).bytes(), kWeightParams + 4 * kBiasParams);
  // var_bytes adds up to bytes().
  EncodedParams enc(l, int_spec(3, false, true));
  std::size_t sum = 0;
  for (std::size_t i = 0; i < enc.num_vars(); ++i) sum += enc.var_bytes(i);
  EXPECT_EQ(sum, enc.bytes());
  EXPECT_EQ(enc.data().size(), enc.bytes());
}

TEST(CompressParamCodec, NearestRoundTripWithinHalfAStepPerVariable) {
  const auto l = lenet5_layout();
  const auto w = random_model(l, 3);
  for (int bits : {2, 4, 6, 8, 16}) {
    EncodedParams enc(l, int_spec(bits, false));
    Rng rng(3, Purpose::kStorage);
    enc.encode_all(w, Rounding::kNearest, rng);
    std::vector<float> back(l.size());
    enc.decode_all(back);
    for (std::size_t i = 0; i < l.num_vars(); ++i) {
      const auto a = l.view(std::span<const float>(w), i);
      const auto b = l.view(std::span<const float>(back), i);
      const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
      const double s = (static_cast<double>(*hi) - *lo) / ((1 << bits) - 1);
      const double tol = 0.5 * s * (1.0 + 1e-4) + 1e-6;
      for (std::size_t k = 0; k < a.size(); ++k)
        ASSERT_LE(std::abs(static_cast<double>(a[k]) - b[k]), tol) << l.var(i).name;
    }
  }
}

TEST(CompressParamCodec, DeterministicGivenTheRngKey) {
  const auto l = lenet5_layout();
  const auto w = random_model(l, 4);
  StorageSpec fs;
  fs.codec = Codec::kFloat;
  fs.pvt = true;
  for (const StorageSpec& s : {int_spec(6, true, true), fs}) {
    EncodedParams a(l, s), b(l, s), c(l, s);
    Rng ra(4, Purpose::kStorage, 7, 1), rb(4, Purpose::kStorage, 7, 1), rc(4, Purpose::kStorage, 7, 2);
    a.encode_all(w, Rounding::kStochastic, ra);
    b.encode_all(w, Rounding::kStochastic, rb);
    c.encode_all(w, Rounding::kStochastic, rc);
    EXPECT_TRUE(std::equal(a.data().begin(), a.data().end(), b.data().begin(), b.data().end()));
    EXPECT_FALSE(std::equal(a.data().begin(), a.data().end(), c.data().begin(), c.data().end()));
  }
}

TEST(CompressParamCodec, DecodeVarAndEncodeVarActOnOneVariable) {
  const auto l = lenet5_layout();
  const auto w = random_model(l, 5);
  EncodedParams enc(l, int_spec(4, true, true));
  Rng rng(5, Purpose::kStorage);
  enc.encode_all(w, Rounding::kNearest, rng);
  std::vector<float> all(l.size());
  enc.decode_all(all);
  for (std::size_t i = 0; i < l.num_vars(); ++i) {
    std::vector<float> one(l.var(i).size);
    enc.decode_var(i, one);
    EXPECT_TRUE(bitwise_equal(one, l.view(std::span<const float>(all), i)));
  }
  // Re-encode fc2.weight (index 6) after an SGD-like step: only its bytes change.
  const std::vector<std::byte> before(enc.data().begin(), enc.data().end());
  std::vector<float> v(l.var(6).size);
  enc.decode_var(6, v);
  for (float& x : v) x -= 0.01f;
  UniformStream u(rng);
  enc.encode_var(6, v, Rounding::kStochastic, &u);
  std::size_t pos = 0;
  for (std::size_t i = 0; i < l.num_vars(); ++i) {
    const bool same = std::equal(before.begin() + static_cast<std::ptrdiff_t>(pos),
                                 before.begin() + static_cast<std::ptrdiff_t>(pos + enc.var_bytes(i)),
                                 enc.data().begin() + static_cast<std::ptrdiff_t>(pos));
    EXPECT_EQ(same, i != 6) << l.var(i).name;
    pos += enc.var_bytes(i);
  }
  EXPECT_THROW(enc.decode_var(6, std::span<float>(v).first(10)), InternalError);
  EXPECT_THROW(enc.encode_all(std::span<const float>(w).first(10), Rounding::kNearest, rng),
               InternalError);
}

TEST(CompressParamCodec, PpqVariableSelectionStaysWithinRhoAndIsMaximal) {
  const auto l = lenet5_layout();
  const auto blocks = ppq_blocks(l, StorageSpec::PpqGranularity::kVariables);
  ASSERT_EQ(blocks.size(), 5u);  // one block per weight variable
  for (double rho : {0.0, 0.001, 0.05, 0.1, 0.2, 0.3, 0.5, 0.9, 1.0}) {
    double mean = 0.0;
    std::set<std::vector<std::size_t>> distinct;
    const int rounds = 200;
    for (int r = 0; r < rounds; ++r) {
      Rng rng(1, Purpose::kStorage, static_cast<std::uint64_t>(r));
      const auto sel = select_fp32_blocks(blocks, rho, rng);
      distinct.insert(sel);
      ASSERT_TRUE(std::is_sorted(sel.begin(), sel.end()));
      std::size_t taken = 0;
      for (std::size_t k : sel) {
        ASSERT_TRUE(l.var(blocks[k].var).is_weight());
        ASSERT_EQ(blocks[k].size, l.var(blocks[k].var).size);
        taken += blocks[k].size;
      }
      ASSERT_LE(static_cast<double>(taken), rho * kWeightParams);
      // First fit: no unselected block would still have fit.
      for (std::size_t k = 0; k < blocks.size(); ++k) {
        if (std::count(sel.begin(), sel.end(), k)) continue;
        ASSERT_GT(static_cast<double>(taken + blocks[k].size), rho * kWeightParams);
      }
      mean += static_cast<double>(taken) / kWeightParams / rounds;
    }
    // Same key, same set.
    Rng a(1, Purpose::kStorage, 3), b(1, Purpose::kStorage, 3);
    EXPECT_EQ(select_fp32_blocks(blocks, rho, a), select_fp32_blocks(blocks, rho, b));
    if (rho == 0.0 || rho == 0.001) {
      EXPECT_EQ(mean, 0.0);
    }
    if (rho == 1.0) {
      EXPECT_NEAR(mean, 1.0, 1e-12);
    }
    // LeNet-5 at rho = 0.1: conv1, conv2 and fc3 (3,390 params, 5.5%) are the
    // only set that fits; fc1 (48,000) and fc2 (10,080) never do. This is why
    // whole variables are too coarse (issue 14).
    if (rho == 0.1) {
      EXPECT_NEAR(mean, 3390.0 / kWeightParams, 1e-12);
      EXPECT_EQ(distinct.size(), 1u);
    }
    // At rho = 0.5 everything but fc1 (13,470 params, 21.9%) fits, every round.
    if (rho == 0.5) {
      EXPECT_NEAR(mean, 13470.0 / kWeightParams, 1e-12);
      EXPECT_EQ(distinct.size(), 1u);
    }
    // At 0.2 and 0.9 the set depends on the shuffled order.
    if (rho == 0.2 || rho == 0.9) {
      EXPECT_GT(distinct.size(), 1u);
    }
  }
  Rng rng(1, Purpose::kStorage);
  EXPECT_THROW(select_fp32_blocks(blocks, 1.5, rng), InternalError);
}

TEST(CompressParamCodec, PpqRowBlocksAreWholeRowsOnByteBoundaries) {
  const auto l = lenet5_layout();
  // Rows of 25 (conv1 channel), 150 (conv2 channel), 400, 120, 84: 8/gcd(row, 8)
  // rows per block, at most the variable.
  const std::size_t want[] = {150, 0, 600, 0, 400, 0, 120, 0, 168, 0};
  for (std::size_t i = 0; i < l.num_vars(); ++i) {
    if (l.var(i).is_weight()) {
      EXPECT_EQ(ppq_block_length(l.var(i), StorageSpec::PpqGranularity::kRows), want[i]) << l.var(i).name;
    }
  }
  const auto blocks = ppq_blocks(l, StorageSpec::PpqGranularity::kRows);
  EXPECT_EQ(blocks.size(), 1u + 4u + 120u + 84u + 5u);
  // The blocks tile every weight variable in order; each starts 8-aligned and
  // holds whole rows.
  std::size_t covered = 0;
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    const auto& v = l.var(blocks[k].var);
    const std::size_t row = v.size / static_cast<std::size_t>(v.shape[0]);
    EXPECT_EQ(blocks[k].begin % EncodedParams::kRangeAlign, 0u);
    EXPECT_EQ(blocks[k].begin % row, 0u);
    EXPECT_EQ(blocks[k].size % row, 0u);
    const bool first = k == 0 || blocks[k - 1].var != blocks[k].var;
    EXPECT_EQ(blocks[k].begin, first ? 0u : blocks[k - 1].begin + blocks[k - 1].size);
    covered += blocks[k].size;
  }
  EXPECT_EQ(covered, kWeightParams);
}

TEST(CompressParamCodec, PpqRowSelectionHonoursRhoAndIsRedrawnEachRound) {
  const auto l = lenet5_layout();
  const auto blocks = ppq_blocks(l, StorageSpec::PpqGranularity::kRows);
  std::size_t largest = 0;
  for (const auto& b : blocks) largest = std::max(largest, b.size);
  for (double rho : {0.02, 0.1, 0.25, 0.5}) {
    std::set<std::vector<std::size_t>> distinct;
    std::set<std::size_t> vars_touched;
    for (int r = 0; r < 100; ++r) {
      Rng rng(1, Purpose::kStorage, static_cast<std::uint64_t>(r));
      const auto sel = select_fp32_blocks(blocks, rho, rng);
      distinct.insert(sel);
      std::size_t taken = 0;
      for (std::size_t k : sel) {
        taken += blocks[k].size;
        vars_touched.insert(blocks[k].var);
      }
      // Within rho, and short of it by less than the largest block (600).
      ASSERT_LE(static_cast<double>(taken), rho * kWeightParams);
      ASSERT_GT(static_cast<double>(taken + largest), rho * kWeightParams);
      for (std::size_t k = 0; k < blocks.size(); ++k) {
        if (!std::count(sel.begin(), sel.end(), k)) {
          ASSERT_GT(static_cast<double>(taken + blocks[k].size), rho * kWeightParams);
        }
      }
    }
    EXPECT_EQ(distinct.size(), 100u) << "a new subset every round";
    EXPECT_GE(vars_touched.size(), 4u) << "every large weight variable takes part";
  }
}

namespace {
StorageSpec rows_spec(int bits, double rho) {
  StorageSpec s = int_spec(bits, true, true, rho);
  s.ppq_granularity = StorageSpec::PpqGranularity::kRows;
  return s;
}
}  // namespace

TEST(CompressParamCodec, PpqVariablesAreStoredFp32WithinTheReservedCapacity) {
  const auto l = lenet5_layout();
  const auto w = random_model(l, 6);
  auto spec = int_spec(8, true, true, 0.2);
  spec.ppq_granularity = StorageSpec::PpqGranularity::kVariables;
  EncodedParams enc(l, spec);
  const std::size_t capacity = enc.capacity_bytes();
  for (int round = 0; round < 20; ++round) {
    Rng sel_rng(6, Purpose::kStorage, static_cast<std::uint64_t>(round));
    const auto sel = select_fp32_blocks(enc.ppq_blocks(), spec.fp32_fraction, sel_rng);
    enc.set_fp32_blocks(sel);
    EXPECT_EQ(enc.capacity_bytes(), capacity);  // no reallocation
    Rng rng(6, Purpose::kStorage, static_cast<std::uint64_t>(round), 1);
    enc.encode_all(w, Rounding::kNearest, rng);
    std::vector<float> back(l.size());
    enc.decode_all(back);
    std::size_t want = 0;
    for (std::size_t i = 0; i < l.num_vars(); ++i) {
      bool fp32 = !l.var(i).is_weight();
      for (std::size_t k : sel) fp32 = fp32 || enc.ppq_blocks()[k].var == i;
      EXPECT_EQ(enc.is_quantized(i), !fp32);
      EXPECT_FALSE(enc.is_mixed(i));
      const auto a = l.view(std::span<const float>(w), i);
      const auto b = l.view(std::span<const float>(back), i);
      if (fp32) {
        EXPECT_TRUE(bitwise_equal(a, b)) << l.var(i).name;
      }
      want += fp32 ? 4 * l.var(i).size : l.var(i).size + 16;
    }
    EXPECT_EQ(enc.bytes(), want);
  }
  // Back to no PPQ.
  enc.set_fp32_blocks({});
  EXPECT_EQ(enc.bytes(), kWeightParams + 4 * kBiasParams + 5 * 16);
}

TEST(CompressParamCodec, PpqRowBlocksStoreExactFp32AndCodesOnTheQuantizedGrid) {
  // Memory model: a mixed variable is its scalars + ceil(n_q * b / 8) code
  // bytes + 4 bytes per fp32 element; its scalars come from its quantized
  // elements only, and its fp32 blocks round-trip bitwise.
  const auto l = lenet5_layout();
  const auto w = random_model(l, 8);
  for (int bits : {4, 6, 8}) {
    const auto spec = rows_spec(bits, 0.25);
    EncodedParams enc(l, spec);
    const std::size_t capacity = enc.capacity_bytes();
    for (int round = 0; round < 10; ++round) {
      Rng sel_rng(8, Purpose::kStorage, static_cast<std::uint64_t>(round));
      const auto sel = select_fp32_blocks(enc.ppq_blocks(), spec.fp32_fraction, sel_rng);
      enc.set_fp32_blocks(sel);
      ASSERT_EQ(enc.capacity_bytes(), capacity);
      std::vector<std::uint8_t> fp32(l.size(), 0);  // per parameter: kept fp32 this round
      for (std::size_t i = 0; i < l.num_vars(); ++i)
        if (!l.var(i).is_weight()) std::fill_n(fp32.begin() + static_cast<std::ptrdiff_t>(l.var(i).offset), l.var(i).size, 1);
      for (std::size_t k : sel) {
        const auto& b = enc.ppq_blocks()[k];
        std::fill_n(fp32.begin() + static_cast<std::ptrdiff_t>(l.var(b.var).offset + b.begin), b.size, 1);
      }
      Rng rng(8, Purpose::kStorage, static_cast<std::uint64_t>(round), 1);
      enc.encode_all(w, Rounding::kNearest, rng);
      std::vector<float> back(l.size());
      enc.decode_all(back);
      std::size_t want = 0;
      for (std::size_t i = 0; i < l.num_vars(); ++i) {
        const auto& v = l.var(i);
        std::size_t nf = 0;
        float lo = std::numeric_limits<float>::infinity(), hi = -lo;
        for (std::size_t e = v.offset; e < v.offset + v.size; ++e) {
          if (fp32[e]) {
            ++nf;
            ASSERT_EQ(std::bit_cast<std::uint32_t>(w[e]), std::bit_cast<std::uint32_t>(back[e])) << v.name;
          } else {
            lo = std::min(lo, w[e]);
            hi = std::max(hi, w[e]);
          }
        }
        const std::size_t nq = v.size - nf;
        EXPECT_EQ(enc.quantized_count(i), nq) << v.name;
        EXPECT_EQ(enc.is_mixed(i), nq > 0 && nf > 0) << v.name;
        want += nq == 0 ? 4 * v.size : 16 + (nq * static_cast<std::size_t>(bits) + 7) / 8 + 4 * nf;
        // Nearest rounding on the grid of the quantized elements' own range (PVT is
        // affine, so the error bound is s/2 of that range).
        const double s = (static_cast<double>(hi) - lo) / ((1 << bits) - 1);
        for (std::size_t e = v.offset; e < v.offset + v.size; ++e) {
          if (!fp32[e]) {
            ASSERT_LE(std::abs(static_cast<double>(w[e]) - back[e]), 0.5 * s * (1 + 1e-3) + 1e-6) << v.name;
          }
        }
      }
      EXPECT_EQ(enc.bytes(), want) << bits << " bits, round " << round;
      // Tile reads and writes of a mixed variable agree with whole-variable ones.
      const auto sc = enc.scalars(4);
      std::vector<float> whole(l.var(4).size), tile(l.var(4).size);
      enc.decode_var(4, whole);
      for (std::size_t b = 0; b < whole.size(); b += 1000)
        enc.decode_range(4, b, std::span<float>(tile).subspan(b, std::min<std::size_t>(1000, whole.size() - b)), sc);
      EXPECT_TRUE(bitwise_equal(whole, tile));
      EncodedParams copy = enc;
      for (std::size_t b = 0; b < whole.size(); b += 1000)
        copy.encode_range(4, b, std::span<const float>(whole).subspan(b, std::min<std::size_t>(1000, whole.size() - b)),
                          sc, Rounding::kNearest, nullptr);
      EXPECT_TRUE(std::equal(copy.data().begin(), copy.data().end(), enc.data().begin(), enc.data().end()));
    }
    // A pruned model's kept bytes are not defined by a count under row blocks.
    bool mixed = false;
    for (std::size_t i = 0; i < l.num_vars(); ++i) mixed = mixed || enc.is_mixed(i);
    ASSERT_TRUE(mixed);
    for (std::size_t i = 0; i < l.num_vars(); ++i)
      if (enc.is_mixed(i)) {
        EXPECT_THROW(enc.kept_bytes(i, 1), InternalError);
      }
  }
}

TEST(CompressParamCodec, PpqRowBlocksStochasticReencodingDrawsOnlyForCodes) {
  // Stochastic re-encoding draws one uniform per quantized element: the stream
  // advances by the number of codes, not of parameters; encode_all is
  // encode_var over the variables with one stream seeded by its rng.
  const auto l = lenet5_layout();
  const auto w = random_model(l, 9);
  const auto spec = rows_spec(8, 0.1);
  EncodedParams enc(l, spec), by_var(l, spec);
  Rng sel_rng(9, Purpose::kStorage, 0);
  enc.set_fp32_blocks(select_fp32_blocks(enc.ppq_blocks(), 0.1, sel_rng));
  Rng sel_rng2(9, Purpose::kStorage, 0);
  by_var.set_fp32_blocks(select_fp32_blocks(by_var.ppq_blocks(), 0.1, sel_rng2));
  Rng a(9, Purpose::kStorage, 1), b(9, Purpose::kStorage, 1);
  enc.encode_all(w, Rounding::kStochastic, a);
  UniformStream u(b);
  for (std::size_t i = 0; i < l.num_vars(); ++i)
    by_var.encode_var(i, std::span<const float>(w).subspan(l.var(i).offset, l.var(i).size), Rounding::kStochastic, &u);
  EXPECT_TRUE(std::equal(enc.data().begin(), enc.data().end(), by_var.data().begin(), by_var.data().end()));
  EXPECT_EQ(a.next(), b.next());  // the stream's seeding is all encode_all takes from rng
  std::size_t codes = 0;
  for (std::size_t i = 0; i < l.num_vars(); ++i) codes += enc.quantized_count(i);
  // rho = 0.1 keeps between 9 % and 10 % of the weights fp32.
  EXPECT_LT(codes, static_cast<std::size_t>(0.91 * kWeightParams));
  EXPECT_GE(codes, static_cast<std::size_t>(0.90 * kWeightParams));
  EXPECT_EQ(u.drawn(), codes);
}

TEST(CompressParamCodec, SpecValidationNamesTheKey) {
  const auto l = lenet5_layout();
  auto expect_key = [&](StorageSpec s, const std::string& key) {
    try {
      EncodedParams enc(l, s);
      ADD_FAILURE() << "no error for " << key;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key(), key);
    }
  };
  expect_key(int_spec(1, false), "storage.bits");
  expect_key(int_spec(17, false), "storage.bits");
  expect_key(int_spec(8, false, false, 1.5), "storage.fp32_fraction");
  StorageSpec f;
  f.codec = Codec::kFloat;
  f.exponent_bits = 9;
  expect_key(f, "storage.exponent_bits");
  f.exponent_bits = 5;
  f.mantissa_bits = 24;
  expect_key(f, "storage.mantissa_bits");
  EXPECT_EQ(int_spec(6, false).code_bits(), 6);
  f.mantissa_bits = 2;
  EXPECT_EQ(f.code_bits(), 8);
}
