#include "fedhpc/posttrain/bins.hpp"

#include <algorithm>
#include <cmath>

#include "fedhpc/core/error.hpp"

namespace fedhpc::posttrain {

Bins Bins::initial(std::span<const float> w) {
  expects(!w.empty(), "Bins::initial: empty layer");
  double lo = w[0], hi = w[0], sum = 0.0;
  for (float v : w) {
    lo = std::min(lo, static_cast<double>(v));
    hi = std::max(hi, static_cast<double>(v));
    sum += v;
  }
  const double n = static_cast<double>(w.size());
  const double mu = sum / n;
  double ss = 0.0;
  for (float v : w) ss += (v - mu) * (v - mu);
  const double sigma = std::sqrt(ss / n);
  std::vector<double> e = {lo, std::clamp(mu - sigma, lo, hi), mu, std::clamp(mu + sigma, lo, hi), hi};
  e.erase(std::unique(e.begin(), e.end()), e.end());
  if (e.size() == 1) e.push_back(e[0]);  // constant layer: one bin [v, v]
  return Bins(std::move(e));
}

Bins::Bins(std::vector<double> edges) : edges_(std::move(edges)) {
  expects(edges_.size() >= 2 && std::is_sorted(edges_.begin(), edges_.end()), "Bins: edges must be sorted");
}

int Bins::bin_of(float v) const noexcept {
  // First edge above v, among the inner edges: bins [e0, e1), ..., [e_{n-1}, e_n].
  const auto it = std::upper_bound(edges_.begin() + 1, edges_.end() - 1, static_cast<double>(v));
  return static_cast<int>(it - edges_.begin()) - 1;
}

float Bins::midpoint(int b) const noexcept {
  const auto i = static_cast<std::size_t>(b);
  return static_cast<float>(0.5 * (edges_[i] + edges_[i + 1]));
}

void Bins::split(int b) {
  expects(b >= 0 && b < count(), "Bins::split: no such bin");
  const auto i = static_cast<std::size_t>(b);
  edges_.insert(edges_.begin() + static_cast<std::ptrdiff_t>(i) + 1, 0.5 * (edges_[i] + edges_[i + 1]));
}

void Bins::assign(std::span<const float> w, std::span<std::uint32_t> codes) const {
  for (std::size_t j = 0; j < w.size(); ++j) codes[j] = static_cast<std::uint32_t>(bin_of(w[j]));
}

std::vector<float> Bins::midpoints() const {
  std::vector<float> m(static_cast<std::size_t>(count()));
  for (int b = 0; b < count(); ++b) m[static_cast<std::size_t>(b)] = midpoint(b);
  return m;
}

void quantize(const Bins& bins, std::span<const float> w, std::span<float> out, int scaled, float scale) {
  const std::vector<float> mid = bins.midpoints();
  for (std::size_t j = 0; j < w.size(); ++j) {
    const int b = bins.bin_of(w[j]);
    const float m = mid[static_cast<std::size_t>(b)];
    out[j] = b == scaled ? m * scale : m;
  }
}

std::vector<bool> splittable(const Bins& bins, std::span<const float> w) {
  const auto n = static_cast<std::size_t>(bins.count());
  std::vector<float> lo(n, 0.0f), hi(n, 0.0f);
  std::vector<bool> seen(n, false), out(n, false);
  for (float v : w) {
    const auto b = static_cast<std::size_t>(bins.bin_of(v));
    if (!seen[b]) {
      seen[b] = true;
      lo[b] = hi[b] = v;
    }
    lo[b] = std::min(lo[b], v);
    hi[b] = std::max(hi[b], v);
    out[b] = lo[b] < hi[b];
  }
  return out;
}

int most_sensitive(std::span<const double> drop, std::span<const double> rise, const std::vector<bool>& eligible) {
  int best = -1;
  for (std::size_t b = 0; b < drop.size(); ++b) {
    if (!eligible[b]) continue;
    const auto i = static_cast<std::size_t>(best);
    if (best < 0 || drop[b] > drop[i] || (drop[b] == drop[i] && rise[b] > rise[i])) best = static_cast<int>(b);
  }
  return best;
}

int largest(std::span<const double> mass, const std::vector<bool>& eligible) {
  int best = -1;
  for (std::size_t b = 0; b < mass.size(); ++b)
    if (eligible[b] && (best < 0 || mass[b] > mass[static_cast<std::size_t>(best)])) best = static_cast<int>(b);
  return best;
}

}  // namespace fedhpc::posttrain
