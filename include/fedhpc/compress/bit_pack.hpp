#pragma once
/// Bit packing of b-bit codes (1 <= b <= 32) into a byte buffer.
///
/// Layout: one little-endian bitstream. Code i occupies stream bits
/// [i*b, (i+1)*b), least significant bit first; stream bit k is bit (k % 8) of
/// byte k / 8. n codes take packed_bytes(n, b) = ceil(n*b/8) bytes and the
/// unused high bits of the last byte are zero, so equal codes give equal bytes.
/// Any 8 consecutive codes starting at a multiple of 8 fill exactly b whole
/// bytes, which is what the fast paths and block-wise callers rely on.
#include <cstddef>
#include <cstdint>

namespace fedhpc::compress {

/// Widest code the packer handles.
inline constexpr int kMaxCodeBits = 32;

/// Bytes holding n codes of `bits` bits: ceil(n * bits / 8).
constexpr std::size_t packed_bytes(std::size_t n, int bits) noexcept {
  return (n * static_cast<std::size_t>(bits) + 7) / 8;
}

/// Packs codes[0..n) into out[0..packed_bytes(n, bits)); code bits above `bits`
/// are ignored. Paths: 8, 16, 32 bits as narrowing copies; 1, 2, 3, 4, 6, 12
/// bits as vectorized byte units (e.g. 4 six-bit codes per 3 bytes); other
/// widths below 16 as unrolled 8-code groups in 64-bit words; 17..31 bits and
/// tails through a generic byte-wise accumulator.
void pack_bits(const std::uint32_t* codes, std::size_t n, int bits, std::byte* out);

/// Reference pack_bits: one bit at a time.
void pack_bits_ref(const std::uint32_t* codes, std::size_t n, int bits, std::byte* out);

/// Inverse of pack_bits: reads packed_bytes(n, bits) bytes, writes codes[0..n).
void unpack_bits(const std::byte* in, std::size_t n, int bits, std::uint32_t* codes);

/// Reference unpack_bits: one bit at a time.
void unpack_bits_ref(const std::byte* in, std::size_t n, int bits, std::uint32_t* codes);

}  // namespace fedhpc::compress
