#pragma once
/// Named state a component checkpoints: float vectors identical on every rank.
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace fedhpc::fl {

/// An ordered set of named float vectors (checkpoint datasets "/<name>").
class NamedState {
 public:
  /// Adds (or replaces) entry `name` with a copy of v.
  void put(const std::string& name, std::span<const float> v);
  /// The entry `name`, or null.
  const std::vector<float>* find(const std::string& name) const;
  const std::vector<std::pair<std::string, std::vector<float>>>& entries() const noexcept {
    return entries_;
  }

 private:
  std::vector<std::pair<std::string, std::vector<float>>> entries_;
};

}  // namespace fedhpc::fl
