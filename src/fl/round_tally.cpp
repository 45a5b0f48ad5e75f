#include "fedhpc/fl/round_tally.hpp"

#include "fedhpc/core/error.hpp"

namespace fedhpc::fl {

TallyLayout::Slot TallyLayout::reserve(const std::string& name) {
  for (const auto& n : names_)
    if (n == name) throw InternalError("TallyLayout: slot " + name + " reserved twice");
  names_.push_back(name);
  return names_.size() - 1;
}

}  // namespace fedhpc::fl
