#include "fedhpc/sim/downlink.hpp"

#include <algorithm>

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::sim {

DownlinkStage::DownlinkStage(const compress::UpdateCodecSpec& spec, std::size_t n, int num_clients,
                             std::uint64_t seed)
    : codec_(compress::make_update_codec(spec)),
      seed_(seed),
      copy_(n, 0.0f),
      change_(n),
      visit_(static_cast<std::size_t>(num_clients), -1) {}

void DownlinkStage::start(std::span<float> model) { std::copy(model.begin(), model.end(), copy_.begin()); }

bool DownlinkStage::publish(std::span<const float>, std::span<float> out) const {
  std::copy(copy_.begin(), copy_.end(), out.begin());
  return true;
}

void DownlinkStage::after_step(int round, std::span<float> model) {
  for (std::size_t j = 0; j < copy_.size(); ++j) change_[j] = model[j] - copy_[j];
  Rng rng(seed_, Purpose::kDownlink, static_cast<std::uint64_t>(round));
  bytes_ = static_cast<std::int64_t>(codec_->encode(change_, rng, message_));
  codec_->decode(message_, change_);
  for (std::size_t j = 0; j < copy_.size(); ++j) copy_[j] += change_[j];
  sizes_.resize(static_cast<std::size_t>(round) + 1, 0);  // a round without a step broadcast nothing
  sizes_[static_cast<std::size_t>(round)] = bytes_;
}

std::int64_t DownlinkStage::downlink_bytes(int round, int client, std::int64_t model_bytes) {
  auto& last = visit_.at(static_cast<std::size_t>(client));
  std::int64_t bytes = model_bytes;
  if (last >= 0) {
    std::int64_t replay = 0;
    for (int r = last; r < round && replay < model_bytes; ++r)
      replay += r < static_cast<int>(sizes_.size()) ? sizes_[static_cast<std::size_t>(r)] : 0;
    bytes = std::min(replay, model_bytes);
  }
  last = round;
  return bytes;
}

void DownlinkStage::save(fl::NamedState& s) const {
  s.put("downlink_model", copy_);
  // Rounds as floats (exact below 2^24); sizes as two 24-bit halves each.
  s.put("downlink_visit", std::vector<float>(visit_.begin(), visit_.end()));
  std::vector<float> sizes;
  for (const std::int64_t b : sizes_) {
    sizes.push_back(static_cast<float>(b >> 24));
    sizes.push_back(static_cast<float>(b & 0xffffff));
  }
  s.put("downlink_sizes", sizes);
}

void DownlinkStage::load(const fl::NamedState& s) {
  const auto* v = s.find("downlink_model");
  const auto* visit = s.find("downlink_visit");
  const auto* sizes = s.find("downlink_sizes");
  if (v == nullptr || v->size() != copy_.size() || visit == nullptr || visit->size() != visit_.size() ||
      sizes == nullptr || sizes->size() % 2 != 0)
    throw ConfigError("run.checkpoint", "holds no compressed-downlink state of this model and client count");
  copy_ = *v;
  std::transform(visit->begin(), visit->end(), visit_.begin(), [](float r) { return static_cast<std::int32_t>(r); });
  sizes_.assign(sizes->size() / 2, 0);
  for (std::size_t r = 0; r < sizes_.size(); ++r)
    sizes_[r] = (static_cast<std::int64_t>((*sizes)[2 * r]) << 24) + static_cast<std::int64_t>((*sizes)[2 * r + 1]);
}

}  // namespace fedhpc::sim
