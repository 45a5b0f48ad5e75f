#pragma once
/// Keyed random streams: every stream is a pure function of
/// (seed, purpose, a, b) — typically (round, client) — so results do not
/// depend on which rank draws them or in which order.
#include <cmath>
#include <cstdint>
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

  /// Fills out with standard normal floats, two per 64-bit draw (Box-Muller
  /// on 24-bit uniforms in float: faster than normal(), for bulk draws such
  /// as zeroth-order directions; deterministic).
  void fill_normal(std::span<float> out) noexcept {
    constexpr float kScale = 0x1.0p-24f;
    constexpr float kTwoPi = 6.28318530717958647692f;
    std::size_t i = 0;
    for (; i < out.size(); i += 2) {
      const std::uint64_t r = next();
      const float u1 = (static_cast<float>(r >> 40) + 1.0f) * kScale;             // (0, 1]
      const float u2 = static_cast<float>((r >> 16) & 0xFFFFFFu) * kScale;        // [0, 1)
      const float rad = std::sqrt(-2.0f * std::log(u1));
      out[i] = rad * std::cos(kTwoPi * u2);
      if (i + 1 < out.size()) out[i + 1] = rad * std::sin(kTwoPi * u2);
    }
  }

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

}  // namespace fedhpc
