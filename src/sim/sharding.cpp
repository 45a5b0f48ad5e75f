#include "fedhpc/sim/sharding.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>

#include "fedhpc/core/error.hpp"

namespace fedhpc::sim {

std::vector<int> assign_clients(std::span<const std::int64_t> sizes, int num_ranks) {
  const std::size_t n = sizes.size();
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return sizes[static_cast<std::size_t>(a)] > sizes[static_cast<std::size_t>(b)]; });
  using Load = std::pair<std::int64_t, int>;  // (samples, rank), min-heap
  std::priority_queue<Load, std::vector<Load>, std::greater<>> heap;
  for (int r = 0; r < num_ranks; ++r) heap.emplace(0, r);
  std::vector<int> owner(n, 0);
  for (int c : order) {
    auto [load, r] = heap.top();
    heap.pop();
    owner[static_cast<std::size_t>(c)] = r;
    heap.emplace(load + sizes[static_cast<std::size_t>(c)], r);
  }
  return owner;
}

std::vector<int> balance_round(std::span<const double> cost, std::span<const int> home, int num_ranks,
                               std::size_t cap, double tolerance) {
  expects(cost.size() == home.size(), "balance_round: cost and home differ in size");
  expects(num_ranks >= 1, "balance_round: no ranks");
  const auto p = static_cast<std::size_t>(num_ranks);
  std::vector<int> worker(home.begin(), home.end());
  std::vector<double> load(p, 0.0);
  std::vector<std::size_t> sent(p, 0), taken(p, 0);  // own clients away; others' clients here
  for (std::size_t i = 0; i < cost.size(); ++i) {
    expects(home[i] >= 0 && home[i] < num_ranks, "balance_round: home rank out of range");
    load[static_cast<std::size_t>(home[i])] += cost[i];
  }
  const double mean = std::accumulate(load.begin(), load.end(), 0.0) / num_ranks;
  for (std::size_t step = 0; step < 2 * cap * p; ++step) {
    const auto h = static_cast<std::size_t>(std::max_element(load.begin(), load.end()) - load.begin());
    const auto w = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    const double gap = load[h] - load[w];
    if (load[h] <= mean * (1.0 + tolerance) || gap <= 0.0) break;
    std::size_t best = cost.size();
    double best_miss = 0.0;
    for (std::size_t i = 0; i < cost.size(); ++i) {
      if (static_cast<std::size_t>(worker[i]) != h || !(cost[i] > 0.0) || !(cost[i] < gap)) continue;
      const auto from = static_cast<std::size_t>(home[i]);
      if ((from == h && sent[h] >= cap) || (from != w && taken[w] >= cap)) continue;
      const double miss = std::abs(gap - 2.0 * cost[i]);
      if (best == cost.size() || miss < best_miss) {
        best = i;
        best_miss = miss;
      }
    }
    if (best == cost.size()) break;
    const auto from = static_cast<std::size_t>(home[best]);
    if (from == h) ++sent[h];
    else --taken[h];
    if (from == w) --sent[w];
    else ++taken[w];
    worker[best] = static_cast<int>(w);
    load[h] -= cost[best];
    load[w] += cost[best];
  }
  return worker;
}

}  // namespace fedhpc::sim
