#include "fedhpc/sim/server_feedback.hpp"

#include <limits>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::sim {

ServerFeedbackStage::ServerFeedbackStage(const compress::UpdateCodecSpec& spec, std::size_t n,
                                         std::uint64_t seed)
    : codec_(compress::make_update_codec(spec)), seed_(seed), residual_(n, 0.0f), update_(n), decoded_(n) {}

void ServerFeedbackStage::before_step(int round, std::span<double> delta) {
  const std::size_t n = residual_.size();
  for (std::size_t j = 0; j < n; ++j) update_[j] = static_cast<float>(delta[j]) + residual_[j];
  Rng rng(seed_, Purpose::kUplink, static_cast<std::uint64_t>(round),
          std::numeric_limits<std::uint64_t>::max());
  bytes_ = static_cast<std::int64_t>(codec_->encode(update_, rng, message_));
  codec_->decode(message_, decoded_);
  for (std::size_t j = 0; j < n; ++j) {
    residual_[j] = update_[j] - decoded_[j];
    delta[j] = decoded_[j];
  }
}

void ServerFeedbackStage::save(fl::NamedState& s) const { s.put("server_residual", residual_); }

void ServerFeedbackStage::load(const fl::NamedState& s) {
  const auto* r = s.find("server_residual");
  if (r == nullptr || r->size() != residual_.size())
    throw ConfigError("run.checkpoint", "holds no server error-feedback state of this model's size");
  residual_ = *r;
}

}  // namespace fedhpc::sim
