#include "fedhpc/sim/sampler.hpp"

#include <algorithm>
#include <unordered_set>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::sim {

namespace {

/// k distinct ids out of n from rng, ascending.
std::vector<int> choose(Rng& rng, int n, int k) {
  expects(k >= 0 && k <= n, "sample_clients: k out of range");
  std::vector<int> out;
  out.reserve(static_cast<std::size_t>(k));
  if (2 * static_cast<std::int64_t>(k) >= n) {
    // Dense case: partial Fisher-Yates over all ids.
    std::vector<int> ids(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = i;
    for (int i = 0; i < k; ++i) {
      const auto j = static_cast<std::size_t>(i) + rng.below(static_cast<std::uint64_t>(n - i));
      std::swap(ids[static_cast<std::size_t>(i)], ids[j]);
      out.push_back(ids[static_cast<std::size_t>(i)]);
    }
  } else {
    // Sparse case: Floyd's algorithm, uniform over k-subsets.
    std::unordered_set<int> chosen;
    chosen.reserve(static_cast<std::size_t>(2 * k));
    for (int j = n - k; j < n; ++j) {
      const int t = static_cast<int>(rng.below(static_cast<std::uint64_t>(j) + 1));
      const int pick = chosen.insert(t).second ? t : j;
      if (pick == j) chosen.insert(j);
      out.push_back(pick);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<int> sample_clients(std::uint64_t seed, int round, int n, int k) {
  Rng rng(seed, Purpose::kSampling, static_cast<std::uint64_t>(round));
  return choose(rng, n, k);
}

std::vector<int> validation_clients(std::uint64_t seed, int n, int k) {
  Rng rng(seed, Purpose::kValidation);
  return choose(rng, n, k);
}

bool drops_out(std::uint64_t seed, int round, int client, double p) {
  if (p <= 0.0) return false;
  Rng rng(seed, Purpose::kDropout, static_cast<std::uint64_t>(round),
          static_cast<std::uint64_t>(client));
  return rng.uniform() < p;
}

}  // namespace fedhpc::sim
