#pragma once
/// Wall-clock stopwatch.
#include <chrono>

namespace fedhpc {

/// Measures elapsed wall time since construction or the last reset().
class Stopwatch {
 public:
  Stopwatch() noexcept : start_(Clock::now()) {}
  void reset() noexcept { start_ = Clock::now(); }
  double seconds() const noexcept {
    return std::chrono::duration<double>(Clock::now() - start_).count();
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_;
};

}  // namespace fedhpc
