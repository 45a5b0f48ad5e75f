#include "fedhpc/posttrain/kmeans.hpp"

#include <algorithm>
#include <limits>

#include "fedhpc/core/error.hpp"

namespace fedhpc::posttrain {
namespace {

double dist2(const float* x, const float* c, int d) {
  double s = 0.0;
  for (int i = 0; i < d; ++i) {
    const double t = static_cast<double>(x[i]) - static_cast<double>(c[i]);
    s += t * t;
  }
  return s;
}

}  // namespace

double assign_nearest(const Points& p, std::span<const float> centroids, std::span<std::uint32_t> assign) {
  const std::size_t k = centroids.size() / static_cast<std::size_t>(p.d), n = p.n();
  double obj = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    const float* x = p.x.data() + j * static_cast<std::size_t>(p.d);
    double best = std::numeric_limits<double>::infinity();
    std::uint32_t arg = 0;
    for (std::size_t c = 0; c < k; ++c) {
      const double t = dist2(x, centroids.data() + c * static_cast<std::size_t>(p.d), p.d);
      if (t < best) {
        best = t;
        arg = static_cast<std::uint32_t>(c);
      }
    }
    assign[j] = arg;
    obj += p.a[j] * best;
  }
  return obj;
}

double objective(const Points& p, std::span<const float> centroids, std::span<const std::uint32_t> assign) {
  double obj = 0.0;
  for (std::size_t j = 0; j < p.n(); ++j)
    obj += p.a[j] * dist2(p.x.data() + j * static_cast<std::size_t>(p.d),
                          centroids.data() + assign[j] * static_cast<std::size_t>(p.d), p.d);
  return obj;
}

void update_centroids(const Points& p, std::span<const std::uint32_t> assign, std::span<float> centroids) {
  const auto d = static_cast<std::size_t>(p.d);
  const std::size_t k = centroids.size() / d;
  std::vector<double> sum(k * d, 0.0), weight(k, 0.0);
  for (std::size_t j = 0; j < p.n(); ++j) {
    const std::size_t c = assign[j];
    weight[c] += p.a[j];
    for (std::size_t i = 0; i < d; ++i) sum[c * d + i] += p.a[j] * static_cast<double>(p.x[j * d + i]);
  }
  for (std::size_t c = 0; c < k; ++c)
    if (weight[c] > 0.0)
      for (std::size_t i = 0; i < d; ++i) centroids[c * d + i] = static_cast<float>(sum[c * d + i] / weight[c]);
}

std::vector<float> kmeans_pp(const Points& p, int k, Rng& rng) {
  const std::size_t n = p.n(), d = static_cast<std::size_t>(p.d);
  expects(n > 0 && k > 0, "kmeans_pp: no points or no clusters");
  // Draws an index with probability proportional to w (w must have a positive sum).
  auto draw = [&](const std::vector<double>& w, double total) {
    double u = rng.uniform() * total;
    for (std::size_t j = 0; j < n; ++j) {
      if (w[j] > 0.0 && u < w[j]) return j;
      u -= w[j];
    }
    for (std::size_t j = n; j-- > 0;)
      if (w[j] > 0.0) return j;  // rounding at the end of the scan
    return std::size_t{0};
  };
  std::vector<double> w(p.a.begin(), p.a.end());
  double total = 0.0;
  for (double v : w) total += v;
  if (!(total > 0.0)) {  // no weight anywhere: uniform
    std::fill(w.begin(), w.end(), 1.0);
    total = static_cast<double>(n);
  }
  std::vector<double> a = w;
  std::vector<float> centres;
  std::vector<double> d2(n, std::numeric_limits<double>::infinity());
  std::size_t pick = draw(w, total);
  for (int c = 0; c < k; ++c) {
    centres.insert(centres.end(), p.x.begin() + static_cast<std::ptrdiff_t>(pick * d),
                   p.x.begin() + static_cast<std::ptrdiff_t>((pick + 1) * d));
    if (c + 1 == k) break;
    total = 0.0;
    const float* cen = centres.data() + static_cast<std::size_t>(c) * d;
    for (std::size_t j = 0; j < n; ++j) {
      d2[j] = std::min(d2[j], dist2(p.x.data() + j * d, cen, p.d));
      w[j] = a[j] * d2[j];
      total += w[j];
    }
    if (!(total > 0.0)) break;  // every (weighted) point sits on a centre
    pick = draw(w, total);
  }
  return centres;
}

double lloyd(const Points& p, std::span<float> centroids, std::span<std::uint32_t> assign, int iters) {
  std::vector<std::uint32_t> prev(assign.size(), std::numeric_limits<std::uint32_t>::max());
  double obj = assign_nearest(p, centroids, assign);
  for (int it = 0; it < iters; ++it) {
    update_centroids(p, assign, centroids);
    std::copy(assign.begin(), assign.end(), prev.begin());
    obj = assign_nearest(p, centroids, assign);
    if (std::equal(assign.begin(), assign.end(), prev.begin())) break;
  }
  return obj;
}

}  // namespace fedhpc::posttrain
