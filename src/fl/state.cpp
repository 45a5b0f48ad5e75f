#include "fedhpc/core/error.hpp"
#include "fedhpc/fl/named_state.hpp"
#include "fedhpc/fl/round_tally.hpp"

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

TallyLayout::Slot TallyLayout::reserve(const std::string& name) {
  for (const auto& n : names_)
    if (n == name) throw InternalError("TallyLayout: slot " + name + " reserved twice");
  names_.push_back(name);
  return names_.size() - 1;
}

}  // namespace fedhpc::fl
