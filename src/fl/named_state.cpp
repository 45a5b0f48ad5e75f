#include "fedhpc/fl/named_state.hpp"

namespace fedhpc::fl {

void NamedState::put(const std::string& name, std::span<const float> v) {
  for (auto& [n, data] : entries_)
    if (n == name) {
      data.assign(v.begin(), v.end());
      return;
    }
  entries_.emplace_back(name, std::vector<float>(v.begin(), v.end()));
}

const std::vector<float>* NamedState::find(const std::string& name) const {
  for (const auto& [n, data] : entries_)
    if (n == name) return &data;
  return nullptr;
}

}  // namespace fedhpc::fl
