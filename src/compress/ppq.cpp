#include "fedhpc/compress/ppq.hpp"

#include <algorithm>
#include <numeric>

#include "fedhpc/core/error.hpp"

namespace fedhpc::compress {

std::size_t ppq_block_length(const model::Variable& v, StorageSpec::PpqGranularity g) {
  if (g == StorageSpec::PpqGranularity::kVariables || v.shape.empty() || v.shape[0] <= 0) return v.size;
  const std::size_t row = v.size / static_cast<std::size_t>(v.shape[0]);
  if (row == 0) return v.size;
  const std::size_t rows = 8 / std::gcd(row, std::size_t{8});
  return std::min(v.size, rows * row);
}

std::vector<PpqBlock> ppq_blocks(const model::ParamLayout& layout, StorageSpec::PpqGranularity g) {
  std::vector<PpqBlock> out;
  for (std::size_t i = 0; i < layout.num_vars(); ++i) {
    const auto& v = layout.var(i);
    if (!v.is_weight() || v.size == 0) continue;
    const std::size_t len = ppq_block_length(v, g);
    for (std::size_t b = 0; b < v.size; b += len) out.push_back({i, b, std::min(len, v.size - b)});
  }
  return out;
}

std::vector<std::size_t> select_fp32_blocks(std::span<const PpqBlock> blocks, double rho, Rng& rng) {
  expects(rho >= 0.0 && rho <= 1.0, "select_fp32_blocks: rho outside [0, 1]");
  std::vector<std::size_t> order(blocks.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::size_t total = 0;
  for (const auto& b : blocks) total += b.size;
  rng.shuffle(std::span<std::size_t>(order));
  const double budget = rho * static_cast<double>(total);
  std::vector<std::size_t> chosen;
  std::size_t taken = 0;
  for (std::size_t k : order) {
    const std::size_t n = blocks[k].size;
    if (static_cast<double>(taken + n) <= budget) {
      chosen.push_back(k);
      taken += n;
    }
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace fedhpc::compress
