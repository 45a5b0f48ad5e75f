#include "fedhpc/compress/bit_pack.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>

#include "fedhpc/core/error.hpp"

namespace fedhpc::compress {

// The word-at-a-time paths store and load the bitstream through integer words.
static_assert(std::endian::native == std::endian::little,
              "bit packing assumes a little-endian host");

namespace {

constexpr std::uint32_t code_mask(int bits) noexcept {
  return bits >= 32 ? ~std::uint32_t{0} : (std::uint32_t{1} << bits) - 1;
}

void check_bits(int bits) {
  expects(bits >= 1 && bits <= kMaxCodeBits, "bit packing: code width outside 1..32");
}

/// Any width, any n, byte-aligned start: a 64-bit accumulator flushed byte by byte.
void pack_generic(const std::uint32_t* c, std::size_t n, int bits, unsigned char* o) {
  const std::uint32_t mask = code_mask(bits);
  std::uint64_t acc = 0;  // pending bits, LSB first
  int pending = 0;        // < 8 between codes
  for (std::size_t i = 0; i < n; ++i) {
    acc |= static_cast<std::uint64_t>(c[i] & mask) << pending;
    pending += bits;
    while (pending >= 8) {
      *o++ = static_cast<unsigned char>(acc);
      acc >>= 8;
      pending -= 8;
    }
  }
  if (pending > 0) *o = static_cast<unsigned char>(acc);
}

/// Inverse of pack_generic; reads only the bytes the n codes occupy.
void unpack_generic(const unsigned char* in, std::size_t n, int bits, std::uint32_t* c) {
  const std::uint32_t mask = code_mask(bits);
  std::uint64_t acc = 0;
  int avail = 0;
  for (std::size_t i = 0; i < n; ++i) {
    while (avail < bits) {
      acc |= static_cast<std::uint64_t>(*in++) << avail;
      avail += 8;
    }
    c[i] = static_cast<std::uint32_t>(acc) & mask;
    acc >>= bits;
    avail -= bits;
  }
}

/// `groups` groups of 8 codes of B bits, each into B whole bytes.
template <int B>
void pack_groups(const std::uint32_t* c, std::size_t groups, unsigned char* o) {
  static_assert(B >= 1 && B <= 16);
  constexpr std::uint32_t mask = code_mask(B);
  using Word = std::conditional_t<(B <= 8), std::uint64_t, __uint128_t>;  // holds 8*B bits
  for (std::size_t g = 0; g < groups; ++g, c += 8, o += B) {
    Word w = 0;
    for (int i = 0; i < 8; ++i) w |= static_cast<Word>(c[i] & mask) << (i * B);
    std::memcpy(o, &w, B);
  }
}

/// Inverse of pack_groups. Reads a 64-bit window per code, so the caller
/// guarantees 8 readable bytes past each group's start + B.
template <int B>
void unpack_groups(const unsigned char* in, std::size_t groups, std::uint32_t* c) {
  static_assert(B >= 1 && B <= 16);
  constexpr std::uint32_t mask = code_mask(B);
  for (std::size_t g = 0; g < groups; ++g, c += 8, in += B) {
    for (int i = 0; i < 8; ++i) {
      std::uint64_t w;
      std::memcpy(&w, in + (i * B) / 8, sizeof w);
      c[i] = static_cast<std::uint32_t>(w >> ((i * B) % 8)) & mask;
    }
  }
}

/// Calls f(std::integral_constant<int, B>) for the runtime width 1..16.
template <class F>
void with_width(int bits, F&& f) {
  switch (bits) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    case 5: f(std::integral_constant<int, 5>{}); break;
    case 6: f(std::integral_constant<int, 6>{}); break;
    case 7: f(std::integral_constant<int, 7>{}); break;
    case 8: f(std::integral_constant<int, 8>{}); break;
    case 9: f(std::integral_constant<int, 9>{}); break;
    case 10: f(std::integral_constant<int, 10>{}); break;
    case 11: f(std::integral_constant<int, 11>{}); break;
    case 12: f(std::integral_constant<int, 12>{}); break;
    case 13: f(std::integral_constant<int, 13>{}); break;
    case 14: f(std::integral_constant<int, 14>{}); break;
    case 15: f(std::integral_constant<int, 15>{}); break;
    case 16: f(std::integral_constant<int, 16>{}); break;
    default: throw InternalError("bit packing: no unrolled path for this width");
  }
}

}  // namespace

void pack_bits(const std::uint32_t* codes, std::size_t n, int bits, std::byte* out) {
  check_bits(bits);
  auto* o = reinterpret_cast<unsigned char*>(out);
  switch (bits) {
    case 8:
      for (std::size_t i = 0; i < n; ++i) o[i] = static_cast<unsigned char>(codes[i]);
      return;
    case 16:
      for (std::size_t i = 0; i < n; ++i) {
        const auto v = static_cast<std::uint16_t>(codes[i]);
        std::memcpy(o + 2 * i, &v, 2);
      }
      return;
    case 32:
      if (n > 0) std::memcpy(o, codes, 4 * n);
      return;
    default: break;
  }
  // Widths 17..31 are rare (wide float formats): generic path only.
  const std::size_t groups = bits < 16 ? n / 8 : 0;
  if (groups > 0) with_width(bits, [&](auto b) { pack_groups<decltype(b)::value>(codes, groups, o); });
  pack_generic(codes + 8 * groups, n - 8 * groups, bits, o + groups * static_cast<std::size_t>(bits));
}

void unpack_bits(const std::byte* in, std::size_t n, int bits, std::uint32_t* codes) {
  check_bits(bits);
  const auto* p = reinterpret_cast<const unsigned char*>(in);
  switch (bits) {
    case 8:
      for (std::size_t i = 0; i < n; ++i) codes[i] = p[i];
      return;
    case 16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t v;
        std::memcpy(&v, p + 2 * i, 2);
        codes[i] = v;
      }
      return;
    case 32:
      if (n > 0) std::memcpy(codes, p, 4 * n);
      return;
    default: break;
  }
  std::size_t groups = 0;
  if (bits < 16) {
    // Group g reads bytes up to g*B + B + 8 (64-bit windows): stay inside the buffer.
    const auto b = static_cast<std::size_t>(bits);
    const std::size_t nbytes = packed_bytes(n, bits);
    const std::size_t safe = nbytes >= b + 8 ? (nbytes - b - 8) / b + 1 : 0;
    groups = std::min(n / 8, safe);
  }
  if (groups > 0) with_width(bits, [&](auto b) { unpack_groups<decltype(b)::value>(p, groups, codes); });
  unpack_generic(p + groups * static_cast<std::size_t>(bits), n - 8 * groups, bits, codes + 8 * groups);
}

void pack_bits_ref(const std::uint32_t* codes, std::size_t n, int bits, std::byte* out) {
  check_bits(bits);
  auto* o = reinterpret_cast<unsigned char*>(out);
  std::memset(o, 0, packed_bytes(n, bits));
  for (std::size_t i = 0; i < n; ++i) {
    for (int k = 0; k < bits; ++k) {
      const std::size_t pos = i * static_cast<std::size_t>(bits) + static_cast<std::size_t>(k);
      const unsigned bit = (codes[i] >> k) & 1u;
      o[pos / 8] = static_cast<unsigned char>(o[pos / 8] | (bit << (pos % 8)));
    }
  }
}

void unpack_bits_ref(const std::byte* in, std::size_t n, int bits, std::uint32_t* codes) {
  check_bits(bits);
  const auto* p = reinterpret_cast<const unsigned char*>(in);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t v = 0;
    for (int k = 0; k < bits; ++k) {
      const std::size_t pos = i * static_cast<std::size_t>(bits) + static_cast<std::size_t>(k);
      v |= static_cast<std::uint32_t>((p[pos / 8] >> (pos % 8)) & 1u) << k;
    }
    codes[i] = v;
  }
}

}  // namespace fedhpc::compress
