#pragma once
/// Explicit device-memory model of one client step (bytes per component).
#include <cstdint>

namespace fedhpc {

/// Peak memory of a client's local step, by component.
struct MemoryBreakdown {
  std::uint64_t params = 0;       ///< stored parameters (compressed size when compressed)
  std::uint64_t decoded = 0;      ///< transient decoded working buffers
  std::uint64_t activations = 0;  ///< activations kept for backprop + batch input/output
  std::uint64_t gradients = 0;    ///< gradient buffers
  std::uint64_t optimizer = 0;    ///< optimizer state (momentum, proximal anchor)
  std::uint64_t state = 0;        ///< persistent client state (error-feedback residual, stored form)
  std::uint64_t received = 0;     ///< the received model kept to form a delta update (stored form)
  std::uint64_t workspace = 0;    ///< the fp32 update an uplink codec encodes from
  std::uint64_t total() const {
    return params + decoded + activations + gradients + optimizer + state + received + workspace;
  }
};

}  // namespace fedhpc
