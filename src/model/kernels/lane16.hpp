#pragma once
// Sixteen float lanes, the vector the batch-innermost kernels work in: one
// __m512 with AVX-512, a GCC vector (two ymm / four xmm) otherwise. fmadd is
// one rounding with AVX-512 and two (multiply, add) in the portable build: the
// bits depend on the build's ISA, never on the rank or the data.
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace fedhpc::model::kernels::lane16 {

#if defined(__AVX512F__)
using V = __m512;
inline V zero() { return _mm512_setzero_ps(); }
inline V load(const float* p) { return _mm512_loadu_ps(p); }
inline void store(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V bcast(float x) { return _mm512_set1_ps(x); }
inline V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V add(V a, V b) { return _mm512_add_ps(a, b); }
/// The first `count` (0..16) lanes from p, zero above; stores only those lanes.
inline __mmask16 first(int count) { return static_cast<__mmask16>((1u << count) - 1u); }
inline V load_n(const float* p, int count) { return _mm512_maskz_loadu_ps(first(count), p); }
inline void store_n(float* p, V v, int count) { _mm512_mask_storeu_ps(p, first(count), v); }
#else
// A 64-byte vector passed by value without AVX-512: GCC notes (at every first
// use in a file) that the ABI differs from an AVX-512 build's. The helpers and
// the kernels using them are internal to their files, so the note is silenced
// for the files that include this header (kernels only).
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float V __attribute__((vector_size(64)));
inline V zero() { return V{}; }
inline V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, V v) { std::memcpy(p, &v, sizeof v); }
inline V bcast(float x) { return V{} + x; }
inline V fmadd(V a, V b, V c) { return a * b + c; }
inline V add(V a, V b) { return a + b; }
inline V load_n(const float* p, int count) {
  V v{};
  std::memcpy(&v, p, sizeof(float) * static_cast<unsigned>(count));
  return v;
}
inline void store_n(float* p, V v, int count) { std::memcpy(p, &v, sizeof(float) * static_cast<unsigned>(count)); }
#endif

/// Keeps v in a register: a value used by several FMAs is loaded once instead
/// of being folded into each as a memory operand (load ports, not FMAs, bound those loops).
#if defined(__AVX512F__)
inline void in_register(V& v) { asm("" : "+v"(v)); }
#else
inline void in_register(V&) {}
#endif

/// Sum of the 16 lanes in a fixed tree order.
#if defined(__AVX512F__)
inline float hsum(V v) {
  const __m256 h8 = _mm256_add_ps(_mm512_castps512_ps256(v),
                                  _mm512_castps512_ps256(_mm512_shuffle_f32x4(v, v, 0xEE)));
  const __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
  const __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
  return _mm_cvtss_f32(_mm_add_ss(h2, _mm_movehdup_ps(h2)));
}
#else
inline float hsum(V v) {
  alignas(64) float t[16];
  std::memcpy(t, &v, sizeof t);
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) t[l] += t[l + w];
  return t[0];
}
#endif

/// out[4 r + q] = hsum(a[4 q + r]) for 16 vectors a, in hsum's tree order (the
/// same additions): four rows of four sums, one 128-bit lane each, in 45
/// instructions instead of 16 hsums.
#if defined(__AVX512F__)
inline V hsum16(const V* a) {
  V b[8], c[4], d[2];
  for (int p = 0; p < 8; ++p)
    b[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0x44),
                         _mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0xEE));
  for (int p = 0; p < 4; ++p)
    c[p] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * p], b[2 * p + 1], 0x88),
                         _mm512_shuffle_f32x4(b[2 * p], b[2 * p + 1], 0xDD));
  for (int p = 0; p < 2; ++p)
    d[p] = _mm512_add_ps(_mm512_shuffle_ps(c[2 * p], c[2 * p + 1], 0x44),
                         _mm512_shuffle_ps(c[2 * p], c[2 * p + 1], 0xEE));
  return _mm512_add_ps(_mm512_shuffle_ps(d[0], d[1], 0x88), _mm512_shuffle_ps(d[0], d[1], 0xDD));
}
#endif

}  // namespace fedhpc::model::kernels::lane16
