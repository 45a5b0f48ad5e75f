#pragma once
/// Weighted k-means over the sub-vectors of one layer (GWK, Sakthi et al.
/// 2022): points x_j of dimension d with weights a_j >= 0, Euclidean
/// assignment, centroid update c = sum a_j x_j / sum a_j. The weighted
/// objective sum_j a_j ||x_j - c(j)||^2 never increases across iterations.
#include <cstdint>
#include <span>
#include <vector>

#include "fedhpc/core/rng.hpp"

namespace fedhpc::posttrain {

/// n points of dimension d, row-major (n * d), and their weights (n).
struct Points {
  std::span<const float> x;
  std::span<const double> a;
  int d = 1;
  std::size_t n() const noexcept { return x.size() / static_cast<std::size_t>(d); }
};

/// Nearest centroid of every point (ties: the lowest index) into assign (n);
/// returns the weighted objective.
double assign_nearest(const Points& p, std::span<const float> centroids, std::span<std::uint32_t> assign);

/// The weighted objective of a given assignment.
double objective(const Points& p, std::span<const float> centroids, std::span<const std::uint32_t> assign);

/// Weighted means of the clusters into centroids; a cluster of zero weight
/// keeps its centroid.
void update_centroids(const Points& p, std::span<const std::uint32_t> assign, std::span<float> centroids);

/// k-means++ seeding weighted by a_j: the first centre with probability
/// proportional to a_j, each next one proportional to a_j D_j^2. Stops early
/// (fewer than k centres) when every point coincides with a centre.
std::vector<float> kmeans_pp(const Points& p, int k, Rng& rng);

/// Lloyd iterations from `centroids` until no assignment changes or `iters`;
/// returns the final objective and leaves the assignment in assign (n).
double lloyd(const Points& p, std::span<float> centroids, std::span<std::uint32_t> assign, int iters);

}  // namespace fedhpc::posttrain
