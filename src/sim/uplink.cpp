#include "fedhpc/sim/uplink.hpp"

#include "fedhpc/core/error.hpp"
#include "fedhpc/core/memory_limits.hpp"
#include "fedhpc/core/rng.hpp"

namespace fedhpc::sim {
namespace {

/// The float update of an upload into out: after - before, or after.
void form_update(const fl::ClientUpload& up, std::span<float> out) {
  if (up.before.empty()) std::copy(up.after.begin(), up.after.end(), out.begin());
  else
    for (std::size_t j = 0; j < out.size(); ++j) out[j] = up.after[j] - up.before[j];
}

bool all_fit(std::span<const float> x) {
  for (const float v : x)
    if (!comm::fits_fixed(v)) return false;
  return true;
}

}  // namespace

bool client_feedback(const UplinkSection& u) noexcept {
  return u.error_feedback == ErrorFeedback::kClient || u.error_feedback == ErrorFeedback::kBoth;
}
bool server_feedback(const UplinkSection& u) noexcept {
  return u.error_feedback == ErrorFeedback::kServer || u.error_feedback == ErrorFeedback::kBoth;
}

// ---- Uplink: the residual series every uplink writes ----------------------

void Uplink::declare(fl::Metrics& m, fl::TallyLayout& t) {
  round_bytes_ = m.declare("/rounds/residual_bytes", fl::Axis::kRound);
  round_stateful_ = m.declare("/rounds/stateful_clients", fl::Axis::kRound);
  client_bytes_ = m.declare("/clients/residual_bytes", fl::Axis::kClientRow);
  slot_bytes_ = t.reserve("residual_bytes");
  slot_stateful_ = t.reserve("stateful_clients");
}

void Uplink::record_client(int client, std::size_t row, fl::Metrics& m) const {
  m.set_client_int(client_bytes_, row, client_state_bytes(client));
}

void Uplink::tally(fl::RoundTally& t) const {
  t.add(slot_bytes_, shard_state_bytes());
  t.add(slot_stateful_, stateful_clients());
}

void Uplink::record_round(const fl::RoundTally& t, fl::Metrics& m) const {
  m.set_int(round_bytes_, t.get(slot_bytes_));
  m.set_int(round_stateful_, t.get(slot_stateful_));
}

// ---- PlainUplink ------------------------------------------------------------

Sent PlainUplink::send(int, int, std::int64_t weight, const fl::ClientUpload& up) {
  Sent s;
  s.bytes = up.bytes;
  s.contribution = {up.after, up.before};
  if (up.before.empty()) {
    s.ok = comm::all_fit_weighted(up.after, weight);
    return s;
  }
  // The update is exact in double.
  for (std::size_t j = 0; j < up.after.size(); ++j)
    if (!comm::fits_weighted(static_cast<double>(up.after[j]) - up.before[j], weight)) return s;
  s.ok = true;
  return s;
}

// ---- CodecUplink ------------------------------------------------------------

CodecUplink::CodecUplink(const compress::UpdateCodecSpec& spec, std::size_t n, std::uint64_t seed)
    : codec_(compress::make_update_codec(spec)), seed_(seed), update_(n), decoded_(n) {}

Sent CodecUplink::send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) {
  Sent s;
  // Checked before encoding: a quantizer would hide a non-finite value.
  form_update(up, update_);
  if (!all_fit(update_)) return s;
  Rng rng(seed_, Purpose::kUplink, static_cast<std::uint64_t>(round), static_cast<std::uint64_t>(client));
  s.bytes = static_cast<std::int64_t>(codec_->encode(update_, rng, message_));
  codec_->decode(message_, decoded_);
  if (!comm::all_fit_weighted(decoded_, weight)) return s;
  s.contribution = {decoded_, {}};
  s.ok = true;
  return s;
}

// ---- ClientFeedbackUplink ---------------------------------------------------

ClientFeedbackUplink::ClientFeedbackUplink(std::unique_ptr<Uplink> inner,
                                           const compress::ResidualSpec& spec, std::size_t n,
                                           std::span<const int> own_clients, int num_clients,
                                           std::uint64_t seed)
    : inner_(std::move(inner)),
      store_(spec, n, own_clients.size()),
      slot_of_(static_cast<std::size_t>(num_clients), -1),
      device_bytes_(compress::residual_bytes(spec, n, compress::kept_count(n, spec.sparse_ratio))),
      seed_(seed),
      u_(n) {
  for (const int c : own_clients) {
    slot_of_[static_cast<std::size_t>(c)] = static_cast<std::int32_t>(slot_client_.size());
    slot_client_.push_back(c);
  }
}

Sent ClientFeedbackUplink::send(int round, int client, std::int64_t weight, const fl::ClientUpload& up) {
  const auto slot = static_cast<std::size_t>(slot_of_.at(static_cast<std::size_t>(client)));
  form_update(up, u_);
  if (!all_fit(u_)) return {};
  store_.add_to(slot, u_);
  Sent s = inner_->send(round, client, weight, fl::ClientUpload{u_, {}, up.bytes});
  if (!s.ok) return s;  // residual untouched
  // The delivered part is what the server adds; the rest is the new residual.
  const std::span<const float> delivered = s.contribution.values;
  for (std::size_t j = 0; j < u_.size(); ++j) u_[j] -= delivered[j];
  Rng rr(seed_, Purpose::kResidual, static_cast<std::uint64_t>(round), static_cast<std::uint64_t>(client));
  try {
    store_.store(slot, u_, rr);
  } catch (const std::bad_alloc&) {
    throw_out_of_memory("the error-feedback residual of client " + std::to_string(client) + " (this rank holds " +
                            std::to_string(store_.stored_slots()) + " residuals, " +
                            format_bytes(static_cast<double>(store_.total_bytes())) + ")",
                        device_bytes_);
  }
  return s;
}

void ClientFeedbackUplink::load_shard(const std::string& path) {
  read_shard_state(path, slot_of_, store_);
}

std::int64_t ClientFeedbackUplink::client_state_bytes(int client) const {
  return static_cast<std::int64_t>(store_.bytes(static_cast<std::size_t>(slot_of_.at(static_cast<std::size_t>(client)))));
}

std::unique_ptr<Uplink> make_uplink(const RunConfig& cfg, std::size_t n, std::span<const int> own_clients) {
  if (cfg.uplink.codec.kind == compress::UpdateCodecKind::kIdentity) return std::make_unique<PlainUplink>();
  compress::UpdateCodecSpec spec = cfg.uplink.codec;
  // Error feedback needs a contractive compressor: rand-k then sends its kept
  // values unscaled (scaled by n/k the residual would grow without bound).
  spec.unbiased = cfg.uplink.error_feedback == ErrorFeedback::kNone;
  std::unique_ptr<Uplink> up = std::make_unique<CodecUplink>(spec, n, cfg.run.seed);
  if (client_feedback(cfg.uplink))
    up = std::make_unique<ClientFeedbackUplink>(std::move(up), cfg.uplink.residual, n, own_clients,
                                                cfg.data.num_clients, cfg.run.seed);
  return up;
}

}  // namespace fedhpc::sim
