#pragma once
/// What a client sends after its local step (docs/design.md, "Seams").
#include <cstdint>
#include <span>

namespace fedhpc::fl {

/// A client's upload as its trainer reports it. The update is `after - before`
/// element-wise (formed by the receiver, in double where it stays exact), or
/// `after` itself when `before` is empty. A trainer whose client sends a compact
/// message (e.g. K seeded loss differences) expands it into `after` on the
/// server's behalf and reports the compact message's size in `bytes`; nothing
/// outside the trainer assumes the upload is "local model minus server model".
struct ClientUpload {
  std::span<const float> after;   ///< (P) the client's result
  std::span<const float> before;  ///< (P) what the update is relative to, or empty
  std::int64_t bytes = 0;         ///< exact message bytes when sent without an update codec
};

}  // namespace fedhpc::fl
