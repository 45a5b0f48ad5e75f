#pragma once
/// How a value between two grid points is rounded (quantizers, OMC storage).

namespace fedhpc::compress {

/// Nearest (ties to even) or stochastic (unbiased: up with the fractional part's probability).
enum class Rounding { kNearest, kStochastic };

}  // namespace fedhpc::compress
