#include "fedhpc/compress/bit_pack.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>
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

/// The smallest run of whole bytes holding whole codes: kUnitCodes codes of
/// B bits in kUnitBytes bytes (B = 6: 4 codes in 3 bytes).
template <int B>
inline constexpr int kUnitCodes = 8 / std::gcd(B, 8);
template <int B>
inline constexpr int kUnitBytes = B / std::gcd(B, 8);
/// Widths whose unit fits a 32-bit word (1, 2, 3, 4, 6, 12): byte-wise loops
/// over units, which the compiler vectorizes.
template <int B>
inline constexpr bool kByteUnits = kUnitCodes<B> * B <= 32;

/// `groups` groups of 8 codes of B bits, each into B whole bytes.
template <int B>
void pack_groups(const std::uint32_t* __restrict c, std::size_t groups,
                 unsigned char* __restrict o) {
  static_assert(B >= 1 && B < 16);
  constexpr std::uint32_t mask = code_mask(B);
  if constexpr (kByteUnits<B>) {
    constexpr int K = kUnitCodes<B>, L = kUnitBytes<B>;
    const std::size_t units = groups * 8 / K;
    for (std::size_t k = 0; k < units; ++k) {
      std::uint32_t v = 0;
      for (int i = 0; i < K; ++i) v |= (c[K * k + i] & mask) << (i * B);
      for (int j = 0; j < L; ++j) o[L * k + j] = static_cast<unsigned char>(v >> (8 * j));
    }
  } else if constexpr (B < 8) {
    for (std::size_t g = 0; g < groups; ++g, c += 8, o += B) {
      std::uint64_t w = 0;  // 8*B < 64 bits
      for (int i = 0; i < 8; ++i) w |= static_cast<std::uint64_t>(c[i] & mask) << (i * B);
      std::memcpy(o, &w, B);
    }
  } else {
    // 8*B in (64, 128) bits: two 4-code halves of 4*B < 64 bits each.
    for (std::size_t g = 0; g < groups; ++g, c += 8, o += B) {
      std::uint64_t w0 = 0, w1 = 0;
      for (int i = 0; i < 4; ++i) {
        w0 |= static_cast<std::uint64_t>(c[i] & mask) << (i * B);
        w1 |= static_cast<std::uint64_t>(c[4 + i] & mask) << (i * B);
      }
      const std::uint64_t lo = w0 | (w1 << (4 * B));  // stream bits [0, 64)
      const std::uint64_t hi = w1 >> (64 - 4 * B);    // stream bits [64, 8*B)
      std::memcpy(o, &lo, 8);
      std::memcpy(o + 8, &hi, B - 8);
    }
  }
}

/// Bytes unpack_groups<B> may read from the start of a group: B for byte
/// units, else whole 64-bit words (one for B < 8, two above).
template <int B>
constexpr std::size_t group_read_bytes() noexcept {
  return kByteUnits<B> ? static_cast<std::size_t>(B) : B < 8 ? 8 : 16;
}

/// Inverse of pack_groups; the caller keeps group_read_bytes<B>() bytes from
/// each group's start inside the buffer.
template <int B>
void unpack_groups(const unsigned char* __restrict in, std::size_t groups,
                   std::uint32_t* __restrict c) {
  static_assert(B >= 1 && B < 16);
  constexpr std::uint32_t mask = code_mask(B);
  if constexpr (kByteUnits<B>) {
    constexpr int K = kUnitCodes<B>, L = kUnitBytes<B>;
    const std::size_t units = groups * 8 / K;
    for (std::size_t k = 0; k < units; ++k) {
      std::uint32_t v = 0;
      for (int j = 0; j < L; ++j) v |= static_cast<std::uint32_t>(in[L * k + j]) << (8 * j);
      for (int i = 0; i < K; ++i) c[K * k + i] = (v >> (i * B)) & mask;
    }
  } else if constexpr (B < 8) {
    for (std::size_t g = 0; g < groups; ++g, c += 8, in += B) {
      std::uint64_t w;
      std::memcpy(&w, in, 8);
      for (int i = 0; i < 8; ++i) c[i] = static_cast<std::uint32_t>(w >> (i * B)) & mask;
    }
  } else {
    for (std::size_t g = 0; g < groups; ++g, c += 8, in += B) {
      std::uint64_t lo, hi;
      std::memcpy(&lo, in, 8);
      std::memcpy(&hi, in + 8, 8);
      for (int i = 0; i < 8; ++i) {
        const int bit = i * B;  // compile-time after unrolling
        std::uint64_t v;
        if (bit + B <= 64) v = lo >> bit;
        else if (bit >= 64) v = hi >> (bit - 64);
        else v = (lo >> bit) | (hi << (64 - bit));
        c[i] = static_cast<std::uint32_t>(v) & mask;
      }
    }
  }
}

/// Calls f(std::integral_constant<int, B>) for the runtime width 1..15.
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
    with_width(bits, [&](auto w) {
      constexpr int B = decltype(w)::value;
      // Group g reads bytes [g*B, g*B + group_read_bytes<B>()): stay inside the buffer.
      const std::size_t nbytes = packed_bytes(n, B), reach = group_read_bytes<B>();
      const std::size_t safe = nbytes >= reach ? (nbytes - reach) / B + 1 : 0;
      groups = std::min(n / 8, safe);
      unpack_groups<B>(p, groups, codes);
    });
  }
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
