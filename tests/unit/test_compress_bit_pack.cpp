// Bit packing: exact layout, fast paths against the bit-at-a-time reference,
// round trips and packed sizes for every code width.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fedhpc/compress/bit_pack.hpp"
#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

using namespace fedhpc;
using namespace fedhpc::compress;

namespace {

constexpr std::size_t kSizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 1031, 4099};
constexpr std::byte kGuard{0xA5};

std::vector<std::uint32_t> random_codes(std::size_t n, int bits, std::uint64_t key) {
  Rng rng(7, Purpose::kBench, static_cast<std::uint64_t>(bits), key);
  std::vector<std::uint32_t> c(n);
  for (auto& v : c) v = static_cast<std::uint32_t>(rng.next() >> (64 - bits));
  return c;
}

}  // namespace

TEST(CompressBitPack, PackedBytesIsCeilOfBits) {
  EXPECT_EQ(packed_bytes(0, 5), 0u);
  EXPECT_EQ(packed_bytes(1, 2), 1u);
  EXPECT_EQ(packed_bytes(8, 3), 3u);
  EXPECT_EQ(packed_bytes(9, 3), 4u);
  EXPECT_EQ(packed_bytes(61470, 6), 46103u);
}

TEST(CompressBitPack, LayoutIsLsbFirstLittleEndian) {
  // sum_i c_i << 3i = 0x1F58D1 for codes 1..7, 0.
  const std::vector<std::uint32_t> codes = {1, 2, 3, 4, 5, 6, 7, 0};
  std::vector<std::byte> out(3);
  pack_bits(codes.data(), codes.size(), 3, out.data());
  EXPECT_EQ(out[0], std::byte{0xD1});
  EXPECT_EQ(out[1], std::byte{0x58});
  EXPECT_EQ(out[2], std::byte{0x1F});
  // 12-bit codes 0xABC, 0x123 -> bytes BC 3A 12.
  const std::vector<std::uint32_t> wide = {0xABC, 0x123};
  pack_bits(wide.data(), wide.size(), 12, out.data());
  EXPECT_EQ(out[0], std::byte{0xBC});
  EXPECT_EQ(out[1], std::byte{0x3A});
  EXPECT_EQ(out[2], std::byte{0x12});
}

TEST(CompressBitPack, FastAndReferenceAgreeAndRoundTripForEveryWidth) {
  for (int bits = 1; bits <= kMaxCodeBits; ++bits) {
    for (std::size_t n : kSizes) {
      SCOPED_TRACE(testing::Message() << "bits " << bits << " n " << n);
      const auto codes = random_codes(n, bits, n);
      const std::size_t nbytes = packed_bytes(n, bits);
      ASSERT_EQ(nbytes, (n * static_cast<std::size_t>(bits) + 7) / 8);
      // Guard bytes after the packed size must stay untouched.
      std::vector<std::byte> fast(nbytes + 16, kGuard), ref(nbytes + 16, kGuard);
      pack_bits(codes.data(), n, bits, fast.data());
      pack_bits_ref(codes.data(), n, bits, ref.data());
      ASSERT_EQ(fast, ref);
      for (std::size_t k = nbytes; k < fast.size(); ++k) ASSERT_EQ(fast[k], kGuard);
      if (n * static_cast<std::size_t>(bits) % 8 != 0) {  // unused high bits are zero
        const auto last = std::to_integer<unsigned>(fast[nbytes - 1]);
        ASSERT_EQ(last >> (n * static_cast<std::size_t>(bits) % 8), 0u);
      }
      // Unpack from a buffer of exactly nbytes (ASan catches over-reads).
      const std::vector<std::byte> exact(fast.begin(), fast.begin() + static_cast<std::ptrdiff_t>(nbytes));
      std::vector<std::uint32_t> back(n, 0xDEADBEEF), back_ref(n, 0xDEADBEEF);
      unpack_bits(exact.data(), n, bits, back.data());
      unpack_bits_ref(exact.data(), n, bits, back_ref.data());
      ASSERT_EQ(back, codes);
      ASSERT_EQ(back_ref, codes);
    }
  }
}

TEST(CompressBitPack, BitsAboveTheWidthAreIgnored) {
  for (int bits = 1; bits < kMaxCodeBits; ++bits) {
    const auto codes = random_codes(1031, bits, 1);
    auto dirty = codes;
    for (auto& c : dirty) c |= ~std::uint32_t{0} << bits;
    std::vector<std::byte> a(packed_bytes(codes.size(), bits)), b(a.size()), r(a.size());
    pack_bits(codes.data(), codes.size(), bits, a.data());
    pack_bits(dirty.data(), dirty.size(), bits, b.data());
    pack_bits_ref(dirty.data(), dirty.size(), bits, r.data());
    EXPECT_EQ(a, b) << "bits " << bits;
    EXPECT_EQ(a, r) << "bits " << bits;
  }
}

TEST(CompressBitPack, RejectsWidthsOutsideOneToThirtyTwo) {
  std::uint32_t c = 0;
  std::byte out[8]{};
  EXPECT_THROW(pack_bits(&c, 1, 0, out), InternalError);
  EXPECT_THROW(pack_bits(&c, 1, 33, out), InternalError);
  EXPECT_THROW(unpack_bits(out, 1, 0, &c), InternalError);
}
