#pragma once
/// Server error feedback as a server stage (DoubleSqueeze style): before the
/// optimizer step the mean update becomes decode(C(delta + e)) and e keeps the
/// rest; e is replicated on every rank and checkpointed as "server_residual".
/// The codec is the uplink's, rounding keyed by (seed, uplink, round, 2^64-1).
#include <memory>
#include <vector>

#include "fedhpc/compress/update_codec.hpp"
#include "fedhpc/fl/server_stage.hpp"

namespace fedhpc::sim {

/// Compresses the global update with error feedback.
class ServerFeedbackStage final : public fl::ServerStage {
 public:
  ServerFeedbackStage(const compress::UpdateCodecSpec& spec, std::size_t n, std::uint64_t seed);
  void before_step(int round, std::span<double> delta) override;
  std::int64_t update_bytes() const override { return bytes_; }
  void save(fl::NamedState& s) const override;
  void load(const fl::NamedState& s) override;

 private:
  std::unique_ptr<compress::UpdateCodec> codec_;
  std::uint64_t seed_;
  std::int64_t bytes_ = 0;
  std::vector<float> residual_;  // (n) e
  std::vector<float> update_;    // (n) delta + e
  std::vector<float> decoded_;   // (n) what is broadcast
  compress::EncodedUpdate message_;
};

}  // namespace fedhpc::sim
