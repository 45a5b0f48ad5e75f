#pragma once
/// Exact, order-independent summation across clients and ranks.
///
/// Floating-point addition is not associative, so a sum that depends on how
/// clients are spread over ranks would break bitwise determinism. fedhpc sums
/// in 128-bit fixed point instead: value v becomes round(v * 2^kFracBits) as
/// a signed 128-bit integer; integer addition is associative, so every rank
/// count and every order gives the same bits. With kFracBits = 48 the
/// resolution is 3.6e-15 and the range +-2^79 (ample for weighted updates;
/// overflow of a single term is rejected by to_fixed()).
#include <cmath>
#include <cstdint>
#include <span>

#include "fedhpc/comm/communicator.hpp"

namespace fedhpc::comm {

__extension__ typedef __int128 Fixed;            ///< signed 128-bit fixed point
__extension__ typedef unsigned __int128 UFixed;  ///< its unsigned twin (wrapping adds)

/// Fractional bits of the fixed-point format.
inline constexpr int kFracBits = 48;
/// Largest magnitude accepted by to_fixed() (2^62, leaving 2^17 headroom for sums).
inline constexpr double kMaxFixedInput = 0x1p62;

/// round(v * 2^kFracBits); v must be finite with |v| < kMaxFixedInput.
inline Fixed to_fixed(double v) noexcept {
  return static_cast<Fixed>(std::nearbyint(std::ldexp(v, kFracBits)));
}

/// True if v can be converted without overflow.
inline bool fits_fixed(double v) noexcept {
  return std::isfinite(v) && std::fabs(v) < kMaxFixedInput;
}

/// The double nearest to x / 2^kFracBits (computed identically on every rank).
inline double from_fixed(Fixed x) noexcept {
  const bool neg = x < 0;
  const UFixed m = neg ? -static_cast<UFixed>(x) : static_cast<UFixed>(x);
  const double hi = static_cast<double>(static_cast<std::uint64_t>(m >> 64));
  const double lo = static_cast<double>(static_cast<std::uint64_t>(m));
  const double r = std::ldexp(std::fma(hi, 0x1p64, lo), -kFracBits);
  return neg ? -r : r;
}

/// In-place sum over ranks of 128-bit integers (exact, modulo 2^128).
void allreduce_exact(const Communicator& comm, std::span<Fixed> data);

}  // namespace fedhpc::comm
