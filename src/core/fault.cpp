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
  const auto number = [&](const std::string& t) {
    if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 9)
      throw ConfigError("FEDHPC_FAULT", "expected RANK:ROUND (two non-negative integers), got '" + s + "'");
    return std::stoi(t);
  };
  if (colon == std::string::npos) number("");
  return {number(s.substr(0, colon)), number(s.substr(colon + 1))};
}

}  // namespace fedhpc
