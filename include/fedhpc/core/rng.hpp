#pragma once
/// Keyed random streams: every stream is a pure function of
/// (seed, purpose, a, b) — typically (round, client) — so results do not
/// depend on which rank draws them or in which order.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numbers>
#include <span>
#include <utility>

namespace fedhpc {

/// What a stream is used for; part of the key so streams never collide.
enum class Purpose : std::uint64_t {
  kInit = 1,        ///< model initialisation
  kPartition = 2,   ///< data partitioning
  kSampling = 3,    ///< client sampling per round
  kDropout = 4,     ///< client dropout per round
  kBudget = 5,      ///< client memory budgets
  kShuffle = 6,     ///< minibatch order of a client in a round
  kSynthetic = 7,   ///< synthetic data generation
  kStorage = 8,     ///< stochastic rounding / partial quantization (OMC)
  kUplink = 9,      ///< update codecs (random-k, stochastic quantizers)
  kPrune = 10,      ///< pruning (NTK resamples, random masks)
  kZeroOrder = 11,  ///< zeroth-order perturbations
  kBench = 12,      ///< benchmarks and tests
  kResidual = 13,   ///< stochastic rounding of error-feedback residuals
  kAggregate = 14,  ///< stochastic rounding onto the quantized aggregation grid
  kValidation = 15, ///< the federated validation sample (post-training)
  kPosttrain = 16,  ///< post-training compression (k-means++ seeding)
  kClientRounding = 17,  ///< stochastic re-encoding of a client's stored parameters
  kDirections = 18,      ///< a client's zeroth-order direction seeds
  kDownlink = 19,        ///< stochastic rounding of the compressed broadcast
};

/// SplitMix64 finaliser: a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// xoshiro256** generator whose state is derived from a key by SplitMix64.
class Rng {
 public:
  Rng(std::uint64_t seed, Purpose purpose, std::uint64_t a = 0, std::uint64_t b = 0) noexcept {
    std::uint64_t h = mix64(seed);
    h = mix64(h ^ static_cast<std::uint64_t>(purpose));
    h = mix64(h ^ a);
    h = mix64(h ^ (b * 0xd1342543de82ef95ULL));
    for (auto& s : s_) {
      h += 0x9e3779b97f4a7c15ULL;
      s = mix64(h);
    }
  }

  /// Next raw 64 random bits.
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform float in [0, 1) with 24 random bits.
  float uniformf() noexcept { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }

  /// Uniform integer in [0, n) (Lemire's nearly-divisionless method, unbiased).
  std::uint64_t below(std::uint64_t n) noexcept {
    __uint128_t m = static_cast<__uint128_t>(next()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  /// Standard normal (Box-Muller; one value per call, deterministic).
  double normal() noexcept {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  /// Gamma(shape, 1) by Marsaglia-Tsang (shape < 1 via the boost u^(1/shape)).
  double gamma(double shape) noexcept {
    if (shape < 1.0) {
      const double u = 1.0 - uniform();
      return gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x, v;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = 1.0 - uniform();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }

  /// Fills out with standard normal floats, two per 64-bit draw: Box-Muller
  /// on 24-bit uniforms in float, with the logarithm and sine/cosine as
  /// branch-free polynomials (error below 1e-6) so the transform vectorises,
  /// and the draws from RngLanes seeded by this stream (eight xoshiro lanes
  /// side by side). Per chunk of 2 m values: m cosine branches, then the m
  /// sine branches of the same draws. For bulk draws such as zeroth-order
  /// directions; deterministic (the same code on every rank).
  void fill_normal(std::span<float> out) noexcept;

  /// Fisher-Yates shuffle.
  template <class T>
  void shuffle(std::span<T> v) noexcept {
    for (std::size_t i = v.size(); i > 1; --i) {
      const std::size_t j = below(i);
      std::swap(v[i - 1], v[j]);
    }
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t s_[4];
};

/// Box-Muller on n 64-bit draws: the cosine and sine branch of each.
inline void box_muller(const std::uint64_t* r, float* c, float* s, std::size_t n) noexcept {
  constexpr float kScale = 0x1.0p-24f;
  constexpr float kPi = 3.14159265358979323846f;
  for (std::size_t p = 0; p < n; ++p) {
    // 24-bit integers convert exactly through int32 (vectorises, unlike uint64 -> float).
    const float u1 = (static_cast<float>(static_cast<std::int32_t>(r[p] >> 40)) + 1.0f) * kScale;       // (0, 1]
    const float u2 = static_cast<float>(static_cast<std::int32_t>((r[p] >> 16) & 0xFFFFFFu)) * kScale;  // [0, 1)
    // ln(u1): u1 = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(t), t = (m-1)/(m+1).
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(u1);
    const std::int32_t e0 = static_cast<std::int32_t>(bits >> 23) - 127;
    const float m0 = std::bit_cast<float>((bits & 0x7FFFFFu) | 0x3F800000u);  // [1, 2)
    const float h = m0 > 1.41421356f ? 1.0f : 0.0f;  // a float select, not a branch: vectorises
    const float m = m0 * (1.0f - 0.5f * h);
    const float e = static_cast<float>(e0) + h;
    const float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;  // |t| < 0.172
    const float atanh = t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7 + t2 * (1.0f / 9)))));
    const float ln = 2.0f * atanh + e * 0.693147180559945f;
    const float rad = std::sqrt(std::max(-2.0f * ln, 0.0f));
    // 2 pi u2 = 2 a with a = pi (u2 - 1/2) in [-pi/2, pi/2): the half angle by Taylor polynomials,
    // sin(2 pi u2) = -sin 2a = -2 sin a cos a, cos(2 pi u2) = -cos 2a = 2 sin^2 a - 1.
    const float a = kPi * (u2 - 0.5f), a2 = a * a;
    const float sa = a * (1.0f - a2 / 6 * (1.0f - a2 / 20 * (1.0f - a2 / 42 * (1.0f - a2 / 72 * (1.0f - a2 / 110)))));
    const float ca = 1.0f - a2 / 2 * (1.0f - a2 / 12 * (1.0f - a2 / 30 * (1.0f - a2 / 56 * (1.0f - a2 / 90))));
    c[p] = rad * (2.0f * sa * sa - 1.0f);
    s[p] = rad * (-2.0f * sa * ca);
  }
}

/// Eight xoshiro256** streams advanced side by side, so drawing vectorises;
/// lane l starts from mixed draws of a parent stream.
class RngLanes {
 public:
  static constexpr std::size_t kLanes = 8;
  /// One tick's draws, lane l in element l (GCC/Clang vector extension: one SIMD register).
  typedef std::uint64_t Draws __attribute__((vector_size(8 * kLanes)));
  explicit RngLanes(Rng& parent) noexcept {
    for (std::size_t l = 0; l < kLanes; ++l)
      for (auto& w : s_) w[l] = mix64(parent.next());
  }
  /// Advances every lane `ticks` times, calling sink(t, r) with tick t's draws r.
  template <class Sink>
  void generate(std::size_t ticks, Sink&& sink) noexcept {
    Draws s0, s1, s2, s3;  // state word k of every lane
    std::memcpy(&s0, s_[0], sizeof(Draws));
    std::memcpy(&s1, s_[1], sizeof(Draws));
    std::memcpy(&s2, s_[2], sizeof(Draws));
    std::memcpy(&s3, s_[3], sizeof(Draws));
    for (std::size_t i = 0; i < ticks; ++i) {
      const Draws x = s1 * 5;
      const Draws r = ((x << 7) | (x >> 57)) * 9;
      sink(i, static_cast<const Draws&>(r));
      const Draws t = s1 << 17;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 45) | (s3 >> 19);
    }
    std::memcpy(s_[0], &s0, sizeof(Draws));
    std::memcpy(s_[1], &s1, sizeof(Draws));
    std::memcpy(s_[2], &s2, sizeof(Draws));
    std::memcpy(s_[3], &s3, sizeof(Draws));
  }
  /// out[0, n) (n a multiple of kLanes): lane l fills l, l + kLanes, ...
  void fill(std::uint64_t* out, std::size_t n) noexcept {
    generate(n / kLanes, [out](std::size_t t, const Draws& r) { std::memcpy(out + t * kLanes, &r, sizeof r); });
  }

 private:
  std::uint64_t s_[4][kLanes];
};

inline void Rng::fill_normal(std::span<float> out) noexcept {
  constexpr std::size_t kChunk = 128;  // draws per chunk
  alignas(64) std::uint64_t r[kChunk];
  alignas(64) float c[kChunk], s[kChunk];
  RngLanes lanes(*this);
  std::size_t i = 0;
  while (i < out.size()) {
    const std::size_t n = std::min(2 * kChunk, out.size() - i);
    const std::size_t draws = (n + 1) / 2;
    lanes.fill(r, (draws + RngLanes::kLanes - 1) / RngLanes::kLanes * RngLanes::kLanes);
    box_muller(r, c, s, draws);
    std::copy_n(c, draws, out.begin() + static_cast<std::ptrdiff_t>(i));
    std::copy_n(s, n - draws, out.begin() + static_cast<std::ptrdiff_t>(i + draws));
    i += n;
  }
}

}  // namespace fedhpc
