#pragma once
/// Fault injection for tests (docs/cluster.md, "A failing rank"): the
/// environment variable FEDHPC_FAULT="RANK:ROUND" makes that rank throw at
/// the start of that round, as a rank that hits a bug or a bad node would.
/// Unset (the normal case): no fault.

namespace fedhpc {

struct InjectedFault {
  int rank = -1;   ///< -1: none
  int round = -1;
  bool at(int r, int round_now) const noexcept { return rank == r && round == round_now; }
};

/// Parses FEDHPC_FAULT; throws ConfigError naming FEDHPC_FAULT if it is set
/// but not two non-negative integers "RANK:ROUND".
InjectedFault injected_fault();

}  // namespace fedhpc
