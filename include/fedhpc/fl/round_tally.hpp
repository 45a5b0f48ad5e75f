#pragma once
/// Named exact counters summed over ranks with the round's aggregate (one
/// collective on the dense path): each component reserves its slots at set-up.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fedhpc/comm/exact_sum.hpp"

namespace fedhpc::fl {

/// Slot names reserved at set-up; values live in the aggregator's tail.
class TallyLayout {
 public:
  using Slot = std::size_t;
  /// Reserves a slot; throws InternalError if the name is taken.
  Slot reserve(const std::string& name);
  std::size_t size() const noexcept { return names_.size(); }

 private:
  std::vector<std::string> names_;
};

/// A view of the round's tail: this rank's sums before the reduction, the
/// sums over all ranks after it.
class RoundTally {
 public:
  RoundTally() = default;
  explicit RoundTally(std::span<comm::Fixed> tail) : tail_(tail) {}
  void add(TallyLayout::Slot s, std::int64_t v) noexcept { tail_[s] += v; }
  void add_fixed(TallyLayout::Slot s, comm::Fixed v) noexcept { tail_[s] += v; }
  std::int64_t get(TallyLayout::Slot s) const noexcept { return static_cast<std::int64_t>(tail_[s]); }
  comm::Fixed get_fixed(TallyLayout::Slot s) const noexcept { return tail_[s]; }

 private:
  std::span<comm::Fixed> tail_;
};

}  // namespace fedhpc::fl
