#include "fedhpc/sim/sharding.hpp"

#include <algorithm>
#include <numeric>
#include <queue>

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

}  // namespace fedhpc::sim
