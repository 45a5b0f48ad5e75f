#include "fedhpc/core/uniform_stream.hpp"

#include <algorithm>
#include <cstring>

namespace fedhpc {
namespace {

/// One tick's 16 uniforms (see the header) into u[0, 16).
inline void to_uniforms(const RngLanes::Draws& r, float* u) noexcept {
  typedef std::int32_t Ints __attribute__((vector_size(4 * RngLanes::kLanes)));
  typedef float Floats __attribute__((vector_size(4 * RngLanes::kLanes)));
  // 24-bit integers convert exactly through int32 (vectorises, unlike uint64 -> float).
  const Floats hi = __builtin_convertvector(__builtin_convertvector(r >> 40, Ints), Floats) * 0x1.0p-24f;
  const Floats lo =
      __builtin_convertvector(__builtin_convertvector((r >> 8) & std::uint64_t{0xFFFFFF}, Ints), Floats) *
      0x1.0p-24f;
  std::memcpy(u, &hi, sizeof hi);
  std::memcpy(u + RngLanes::kLanes, &lo, sizeof lo);
}

}  // namespace

void UniformStream::fill(float* u, std::size_t m) noexcept {
  drawn_ += m;
  const std::size_t head = std::min(m, kChunk - next_);
  std::copy_n(pending_ + next_, head, u);
  next_ += head;
  u += head;
  m -= head;
  const std::size_t ticks = m / kChunk;
  lanes_.generate(ticks, [u](std::size_t t, const RngLanes::Draws& r) { to_uniforms(r, u + t * kChunk); });
  u += ticks * kChunk;
  m -= ticks * kChunk;
  if (m == 0) return;
  lanes_.generate(1, [this](std::size_t, const RngLanes::Draws& r) { to_uniforms(r, pending_); });
  std::copy_n(pending_, m, u);
  next_ = m;
}

}  // namespace fedhpc
