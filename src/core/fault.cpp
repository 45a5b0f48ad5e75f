#include "fedhpc/core/fault.hpp"

#include <cstdlib>
#include <string>

#include "fedhpc/core/error.hpp"

namespace fedhpc {

InjectedFault injected_fault() {
  const char* v = std::getenv("FEDHPC_FAULT");
  if (v == nullptr || *v == '\0') return {};
  const std::string s(v);
  const auto colon = s.find(':');
  const auto is_number = [](const std::string& t) {
    return !t.empty() && t.size() <= 9 && t.find_first_not_of("0123456789") == std::string::npos;
  };
  const std::string rank = s.substr(0, colon), round = colon == std::string::npos ? "" : s.substr(colon + 1);
  if (!is_number(rank) || !is_number(round))
    throw ConfigError("FEDHPC_FAULT", "expected RANK:ROUND (two non-negative integers), got '" + s + "'");
  return {std::stoi(rank), std::stoi(round)};
}

}  // namespace fedhpc
